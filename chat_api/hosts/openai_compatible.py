"""OpenAI, Azure OpenAI (v1 endpoint, keyless or with a key) and any OpenAI-compatible server,
through the Responses API or Chat Completions (`Settings.model_api`).

The answer is the hot path: one POST whose server-sent events are read straight off an aiohttp
connection, framed by `sse.SSEDecoder` and read by the API's reader (`responses.py`,
`chat_completions.py`), which parses only the events it needs and keeps only their text, so a
streamed chunk costs one small parse, no object tree and no log line.

The calls off the hot path (the search query, embeddings) go through the OpenAI SDK and its typed
objects. The SDK is imported when the first of them is made, in a thread, so an app that only
chats never pays its import (about a third of a second at a cold start, and some 25 MB) and the
first answers of a cold process are not held up by it.
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

from chat_api import errors, model_errors, telemetry
from chat_api.events import End, Step, TextDelta
from chat_api.hosts import Prompt, chat_completions, responses
from chat_api.hosts.model_events import AnswerReader, unexpected
from chat_api.hosts.retries import RETRYABLE_STATUSES, UpstreamFailure, sdk_call, with_retries
from chat_api.hosts.sse import SSEDecoder, SSEError
from chat_api.prompt import QUERY_MAX_TOKENS, build_query_messages, clean_query, keyword_query
from chat_api.protocol import Message
from chat_api.settings import ModelApi, Settings

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
ApiKey = str | Callable[[], Awaitable[str]]
_MAX_ERROR_BODY = 64 * 1024
# A reasoning model's thinking counts against max_output_tokens: the search query gets room
# for a little of it, unless the model can be told not to think at all.
QUERY_THINKING_TOKENS = 256


class OpenAICompatibleHost:
    """A chat model reached through the OpenAI API shapes."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: ApiKey | None,
        model: str,
        embedding_model: str = "",
        api: ModelApi = "chat",
        model_name: str = "",
        reasoning: bool = False,
        reasoning_effort: str = "",
        reasoning_summary: bool = True,
        max_output_tokens: int = 1024,
        retry_seconds: float = 10.0,
        timeout_seconds: float = 60.0,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.embedding_model = embedding_model
        self.api = api
        # The model's own name (on Azure, `model` is the deployment's): it tells its family.
        self.model_name = model_name or model
        self.reasoning = reasoning
        self.reasoning_effort = reasoning_effort
        self.reasoning_summary = reasoning_summary
        self.max_output_tokens = max_output_tokens
        self.base_url = base_url.rstrip("/")
        path = responses.PATH if api == "responses" else chat_completions.PATH
        self._answer_url = URL(self.base_url + path)  # parsed once, not per call
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

    def answer_body(self, prompt: Prompt) -> dict[str, Any]:
        if self.api == "responses":
            return responses.answer_body(
                prompt,
                model=self.model,
                reasoning=self.reasoning,
                effort=self.reasoning_effort,
                summary=self.reasoning_summary,
                max_output_tokens=self.max_output_tokens,
            )
        return chat_completions.answer_body(
            prompt,
            model=self.model,
            reasoning=self.reasoning,
            effort=self.reasoning_effort,
            max_output_tokens=self.max_output_tokens,
        )

    async def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | Step | End]:
        response = await self._open_answer(prompt)
        reader: AnswerReader = (
            responses.ResponsesReader()
            if self.api == "responses"
            else chat_completions.ChatCompletionsReader()
        )
        decoder = SSEDecoder()
        try:
            try:
                async for data in response.content.iter_any():
                    for event in reader.read(decoder.feed(data)):
                        yield event
                    if reader.done:
                        break
                else:
                    for event in reader.read(decoder.close()):
                        yield event
            except TimeoutError:
                log.warning("model stream stalled past the read timeout")
                raise model_errors.model_timeout() from None
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("model stream broke: %s", type(exc).__name__)
                raise model_errors.stream_interrupted() from None
            except SSEError:
                log.warning("model stream refused: an event over the size limit")
                raise model_errors.model_failed() from None
            yield reader.end()
            if reader.done:
                await _drain(response)
        finally:
            # Runs on completion, on error and when the client goes away (cancellation): the
            # connection is closed, so the model stops generating tokens nobody will read.
            response.close()

    async def _open_answer(self, prompt: Prompt) -> aiohttp.ClientResponse:
        content = orjson.dumps(self.answer_body(prompt))
        try:
            return await with_retries(lambda: self._open_stream(content), self._retry_seconds)
        except SummariesRefused:
            # Some accounts and models offer no thinking summaries (OpenAI asks for a verified
            # organisation): answer without them from now on, rather than not at all.
            log.warning("the model refused reasoning summaries; answering without them")
            self.reasoning_summary = False
            content = orjson.dumps(self.answer_body(prompt))
            return await with_retries(lambda: self._open_stream(content), self._retry_seconds)

    async def _open_stream(self, content: bytes) -> aiohttp.ClientResponse:
        try:
            session = self._http()
            response = await session.post(
                self._answer_url,
                data=content,
                headers=await self._headers(),
                timeout=self._timeout,
                proxy=self._proxy,
                proxy_auth=self._proxy_auth,
            )
        except TimeoutError:
            raise UpstreamFailure(model_errors.model_timeout(), retryable=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("model unreachable: %s", type(exc).__name__)
            raise UpstreamFailure(model_errors.model_unavailable(), retryable=True) from None
        if response.status == 200:
            return response
        try:
            raw = await response.content.read(_MAX_ERROR_BODY)
        except (aiohttp.ClientError, OSError, TimeoutError):
            raw = b""
        finally:
            response.release()
        if response.status == 400 and _refuses_summaries(raw):
            raise SummariesRefused()
        raise UpstreamFailure(
            model_errors.from_status(response.status, _error_code(raw), response.headers),
            retryable=response.status in RETRYABLE_STATUSES,
            retry_after=model_errors.retry_after_seconds(response.headers),
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
                self._proxy, self._proxy_auth = get_env_proxy_for_url(self._answer_url)
            except LookupError:
                self._proxy, self._proxy_auth = None, None
        return self._session

    # ---- Calls off the hot path: typed SDK objects are fine here ------------------------------

    async def _client(self) -> openai.AsyncOpenAI:
        if self._sdk is None:
            # The SDK takes the better part of a second to import: in a thread, so that a cold
            # process's first answers go on streaming their steps meanwhile.
            await asyncio.to_thread(_import_sdk)
        if self._sdk is None:  # another answer may have made it while this one waited
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

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        """One small non-streamed call's text, at the least thinking the model allows and
        with a cap of `max_tokens` answer tokens (plus room to think, for a reasoning model)."""
        if self.api == "responses":
            return await self._respond(messages, max_tokens)
        if self.reasoning:
            effort, cap = self._least_thinking(max_tokens)
            options = chat_completions.limits(True, effort, cap, None)
        else:
            options = chat_completions.limits(False, "", max_tokens, 0.0)
        client = await self._client()
        response = await with_retries(
            lambda: sdk_call(
                client.chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    stream=False,
                    **options,
                )
            ),
            self._retry_seconds,
        )
        telemetry.model_usage(getattr(response, "usage", None), getattr(response, "model", ""))
        try:
            if not response.choices:
                return ""
            choice = response.choices[0]
            if choice.finish_reason == model_errors.UPSTREAM_CONTENT_FILTER:
                raise model_errors.content_filtered()
            content = choice.message.content or ""
        except (TypeError, AttributeError, IndexError):
            raise unexpected("completion") from None
        if type(content) is not str:
            raise unexpected("completion")
        return content

    def _least_thinking(self, max_tokens: int) -> tuple[str, int]:
        """The lowest effort this reasoning model takes, and a cap with room for its thinking."""
        effort = responses.lowest_effort(self.model_name)
        return effort, max_tokens + (0 if effort == "none" else QUERY_THINKING_TOKENS)

    async def _respond(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        instructions, conversation = responses.split_instructions(messages)
        if self.reasoning:
            effort, cap = self._least_thinking(max_tokens)
            options: dict[str, Any] = {"reasoning": {"effort": effort}}
        else:
            cap, options = max_tokens, {"temperature": 0.0}
        client = await self._client()
        response = await with_retries(
            lambda: sdk_call(
                client.responses.create(
                    model=self.model,
                    instructions=instructions,
                    input=conversation,  # type: ignore[arg-type]
                    max_output_tokens=cap,
                    store=False,
                    stream=False,
                    **options,
                )
            ),
            self._retry_seconds,
        )
        from openai.types.responses import Response

        if not isinstance(response, Response):  # a stream: not what a stream=False call returns
            raise unexpected("a reply")
        telemetry.model_usage(getattr(response, "usage", None), getattr(response, "model", ""))
        details = response.incomplete_details
        if details is not None and details.reason == model_errors.UPSTREAM_CONTENT_FILTER:
            raise model_errors.content_filtered()
        return response.output_text or ""

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
        client = await self._client()
        response = await with_retries(
            lambda: sdk_call(
                client.embeddings.create(
                    model=self.embedding_model, input=texts, encoding_format="float"
                )
            ),
            self._retry_seconds,
        )
        telemetry.model_usage(getattr(response, "usage", None), getattr(response, "model", ""))
        try:
            vectors = [item.embedding for item in sorted(response.data, key=lambda i: i.index)]
        except (TypeError, AttributeError):
            raise unexpected("embeddings") from None
        if len(vectors) != len(texts) or not all(type(v) is list for v in vectors):
            raise unexpected("embeddings")
        return vectors


def _import_sdk() -> None:
    import httpx2  # noqa: F401
    import openai  # noqa: F401


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


class SummariesRefused(Exception):
    """The model refused the request for summaries of its thinking (a 400 about them)."""


def _refuses_summaries(raw: bytes) -> bool:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    param, message = error.get("param"), error.get("message")
    return param == "reasoning.summary" or (
        isinstance(message, str) and "reasoning summar" in message.lower()
    )


def _error_code(raw: bytes) -> str | None:
    try:
        return model_errors.body_error_code(orjson.loads(raw))
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
        model_name=settings.openai_chat_model,
        **_model_options(settings),
    )


def _model_options(settings: Settings) -> dict[str, Any]:
    return {
        "api": settings.model_api,
        "reasoning": settings.reasoning_model,
        "reasoning_effort": settings.reasoning_effort,
        "reasoning_summary": settings.reasoning_summary,
        "max_output_tokens": settings.max_output_tokens,
        "retry_seconds": settings.model_retry_seconds,
        "timeout_seconds": settings.model_timeout_seconds,
    }


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
        # What the deployment runs, when known: its name tells the model's family.
        model_name=settings.azure_openai_chat_model or settings.azure_openai_chat_deployment,
        close=close,
        **_model_options(settings),
    )
