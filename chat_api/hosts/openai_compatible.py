"""OpenAI, Azure OpenAI (v1 endpoint, keyless or with a key) and any OpenAI-compatible server.

The answer is the hot path: one POST whose server-sent events are read straight off an aiohttp
connection; each event is decoded with orjson and only the delta's text is kept, so a streamed
chunk costs one small parse, no object tree and no log line.

The calls off the hot path (the search query, embeddings) go through the OpenAI SDK and its typed
objects. The SDK is imported when the first of them is made, so an app that only chats never pays
its import (about a third of a second at a cold start, and some 25 MB).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from chat_api import errors
from chat_api.events import End, TextDelta
from chat_api.hosts import Prompt
from chat_api.hosts.retries import RETRYABLE_STATUSES, UpstreamFailure, sdk_call, with_retries
from chat_api.prompt import QUERY_MAX_TOKENS, build_query_messages, clean_query, keyword_query
from chat_api.protocol import Message
from chat_api.settings import Settings

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
ApiKey = str | Callable[[], Awaitable[str]]
_DATA = b"data:"
_DONE = b"[DONE]"
_MAX_ERROR_BODY = 64 * 1024


class OpenAICompatibleHost:
    """A chat model reached through the OpenAI API shape."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: ApiKey | None,
        model: str,
        embedding_model: str = "",
        retry_seconds: float = 10.0,
        timeout_seconds: float = 60.0,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.embedding_model = embedding_model
        self.base_url = base_url.rstrip("/")
        self._chat_url = URL(self.base_url + "/chat/completions")  # parsed once, not per call
        self._api_key = api_key
        self._retry_seconds = retry_seconds
        self._timeout_seconds = timeout_seconds
        self._timeout = aiohttp.ClientTimeout(sock_connect=10.0, sock_read=timeout_seconds)
        self._close_credential = close
        self._session: aiohttp.ClientSession | None = None
        self._proxy: URL | None = None
        self._proxy_auth: aiohttp.BasicAuth | None = None
        self._sdk: openai.AsyncOpenAI | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._sdk is not None:
            await self._sdk.close()
        if self._close_credential is not None:
            await self._close_credential()

    # ---- The answer: the hot path --------------------------------------------------------------

    async def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | End]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": prompt.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if prompt.temperature is not None:
            body["temperature"] = prompt.temperature
        content = orjson.dumps(body)
        response = await with_retries(lambda: self._open_stream(content), self._retry_seconds)
        finish: str | None = None
        usage: dict[str, Any] = {}
        answered_by = ""
        done = False
        pending = b""
        try:
            try:
                async for data in response.content.iter_any():
                    pending += data
                    if b"\n" not in data:
                        continue
                    *lines, pending = pending.split(b"\n")
                    # Events that arrived in one read leave as one delta: one line and one
                    # write instead of several, so a busy process catches up instead of lagging.
                    texts: list[str] = []
                    for line in lines:
                        if not line.startswith(_DATA):
                            continue  # comments, event names, blank separators
                        payload = line[5:].strip()
                        if payload == _DONE:
                            done = True
                            break
                        chunk = orjson.loads(payload)
                        if "error" in chunk:
                            raise errors.model_failed()
                        choices = chunk.get("choices")
                        if chunk.get("usage"):
                            usage = chunk["usage"]
                            answered_by = chunk.get("model") or answered_by
                        if not choices:
                            continue  # Azure sends prompt filter results first
                        choice = choices[0]
                        delta = choice.get("delta")
                        if delta:
                            text = delta.get("content")
                            if text:
                                if type(text) is not str:
                                    raise TypeError("content")
                                texts.append(text)
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
                            if type(finish) is not str:
                                raise TypeError("finish_reason")
                            answered_by = chunk.get("model") or answered_by
                    if texts:
                        yield TextDelta(texts[0] if len(texts) == 1 else "".join(texts))
                    if done:
                        break
            except TimeoutError:
                log.warning("model stream stalled past the read timeout")
                raise errors.model_timeout() from None
            except (aiohttp.ClientError, OSError, orjson.JSONDecodeError) as exc:
                log.warning("model stream broke: %s", type(exc).__name__)
                raise errors.stream_interrupted() from None
            except (TypeError, AttributeError, KeyError, IndexError):
                # `data: null`, `"choices": "x"`, content that is not text: nothing to forward.
                raise _unexpected_shape("answer") from None
            if type(usage) is not dict:
                usage = {}
            if not done and finish is None:
                raise errors.stream_interrupted()
            if finish == errors.UPSTREAM_CONTENT_FILTER:
                raise errors.content_filtered()
            yield End(finish or "stop", usage, answered_by)
            if done:
                await _drain(response)
        finally:
            # Runs on completion, on error and when the client goes away (cancellation): the
            # connection is closed, so the model stops generating tokens nobody will read.
            response.close()

    async def _open_stream(self, content: bytes) -> aiohttp.ClientResponse:
        try:
            session = self._http()
            response = await session.post(
                self._chat_url,
                data=content,
                headers=await self._headers(),
                timeout=self._timeout,
                proxy=self._proxy,
                proxy_auth=self._proxy_auth,
            )
        except TimeoutError:
            raise UpstreamFailure(errors.model_timeout(), retryable=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("model unreachable: %s", type(exc).__name__)
            raise UpstreamFailure(errors.model_unavailable(), retryable=True) from None
        if response.status == 200:
            return response
        try:
            raw = await response.content.read(_MAX_ERROR_BODY)
        except (aiohttp.ClientError, OSError, TimeoutError):
            raw = b""
        finally:
            response.release()
        raise UpstreamFailure(
            errors.from_status(response.status, _error_code(raw), response.headers),
            retryable=response.status in RETRYABLE_STATUSES,
            retry_after=errors.retry_after_seconds(response.headers),
        )

    async def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        key = self._api_key
        if key is not None:
            # A token provider caches the Entra ID token and refreshes it before it expires.
            token = key if isinstance(key, str) else await key()
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            )
            # HTTPS_PROXY and friends are honoured, as the SDK does, but looked up once here:
            # aiohttp's trust_env looks them up in a thread on every request.
            try:
                self._proxy, self._proxy_auth = get_env_proxy_for_url(self._chat_url)
            except LookupError:
                self._proxy, self._proxy_auth = None, None
        return self._session

    # ---- Calls off the hot path: typed SDK objects are fine here ------------------------------

    def _client(self) -> openai.AsyncOpenAI:
        if self._sdk is None:
            import httpx2
            import openai

            self._sdk = openai.AsyncOpenAI(
                api_key=self._api_key or "not-needed",
                base_url=self.base_url,
                max_retries=0,  # retried below, within the same budget as the answer
                http_client=openai.DefaultAioHttpClient(
                    timeout=httpx2.Timeout(self._timeout_seconds, connect=10.0)
                ),
            )
        return self._sdk

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> str:
        """One non-streamed chat completion's text."""
        response = await with_retries(
            lambda: sdk_call(
                self._client().chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=False,
                )
            ),
            self._retry_seconds,
        )
        try:
            if not response.choices:
                return ""
            choice = response.choices[0]
            if choice.finish_reason == errors.UPSTREAM_CONTENT_FILTER:
                raise errors.content_filtered()
            content = choice.message.content or ""
        except (TypeError, AttributeError, IndexError):
            raise _unexpected_shape("completion") from None
        if type(content) is not str:
            raise _unexpected_shape("completion")
        return content

    async def generate_query(self, messages: list[Message]) -> str:
        question = messages[-1].content
        try:
            reply = await self.complete(build_query_messages(messages), max_tokens=QUERY_MAX_TOKENS)
        except errors.ChatError as error:
            if error.status not in (400, 502):
                raise
            # The model refused this small request (a parameter it does not take, a filter):
            # the question's keywords still make a fair query, and the answer can go on.
            log.warning("search query generation failed (%s); using keywords", error.code)
            return keyword_query(question)
        return clean_query(reply, question)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts or not self.embedding_model:
            return []
        response = await with_retries(
            lambda: sdk_call(
                self._client().embeddings.create(
                    model=self.embedding_model, input=texts, encoding_format="float"
                )
            ),
            self._retry_seconds,
        )
        try:
            vectors = [item.embedding for item in sorted(response.data, key=lambda i: i.index)]
        except (TypeError, AttributeError):
            raise _unexpected_shape("embeddings") from None
        if len(vectors) != len(texts) or not all(type(v) is list for v in vectors):
            raise _unexpected_shape("embeddings")
        return vectors


def _unexpected_shape(what: str) -> errors.ChatError:
    log.warning("the model service sent %s of an unexpected shape", what)
    return errors.model_failed()


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read a finished answer's last bytes (the end of the chunked body after `[DONE]`), so its
    connection goes back to the pool: the next answer then needs no new TCP or TLS handshake."""
    if response.content.at_eof():
        return
    try:
        async with asyncio.timeout(1.0):
            await response.content.read()
    except (TimeoutError, aiohttp.ClientError, OSError):
        pass  # closed in the caller's finally instead


def _error_code(raw: bytes) -> str | None:
    try:
        return errors.body_error_code(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


def create_host(settings: Settings) -> OpenAICompatibleHost:
    if settings.model_host == "azure":
        return _azure_host(settings)
    return OpenAICompatibleHost(
        name="openai",
        base_url=settings.openai_base_url or OPENAI_BASE_URL,
        api_key=settings.openai_api_key or None,
        model=settings.openai_chat_model,
        embedding_model=settings.openai_embedding_model,
        retry_seconds=settings.model_retry_seconds,
        timeout_seconds=settings.model_timeout_seconds,
    )


def _azure_host(settings: Settings) -> OpenAICompatibleHost:
    close: Callable[[], Awaitable[None]] | None = None
    api_key: ApiKey
    if settings.azure_openai_api_key:
        api_key = settings.azure_openai_api_key
    else:
        # Keyless: Microsoft Entra ID tokens from the app's managed identity (or the developer's
        # az/azd login locally), refreshed by the provider before they expire.
        from chat_api.credentials import default_credential, token_provider

        credential = default_credential(settings.azure_client_id, "Azure OpenAI")
        api_key = token_provider(credential, AZURE_SCOPE)
        close = credential.close
    return OpenAICompatibleHost(
        name="azure",
        base_url=f"{settings.azure_openai_endpoint}/openai/v1",
        api_key=api_key,
        model=settings.azure_openai_chat_deployment,
        embedding_model=settings.azure_openai_embedding_deployment,
        retry_seconds=settings.model_retry_seconds,
        timeout_seconds=settings.model_timeout_seconds,
        close=close,
    )
