"""OpenAI, Azure OpenAI (v1 endpoint, keyless or with a key) and any OpenAI-compatible server.

The SDK does what it is good at: base URL, authentication, request building and error types.
The answer's stream is read raw: each server-sent event is decoded with orjson and only the
delta text is taken, so a streamed chunk costs one small parse and no object tree.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx2
import openai
import orjson

from chat_api import errors
from chat_api.events import End, TextDelta
from chat_api.hosts import Prompt
from chat_api.prompt import QUERY_MAX_TOKENS, build_query_messages, clean_query, keyword_query
from chat_api.protocol import Message
from chat_api.settings import Settings

log = logging.getLogger(__name__)
# The HTTP client logs every request with its URL at INFO: no internal addresses in our logs.
logging.getLogger("httpx2").setLevel(logging.WARNING)

AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
_RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504})
_DATA = b"data:"
_RAW_STREAM_HEADERS = {"Content-Type": "application/json", "X-Stainless-Raw-Response": "stream"}
_DONE = b"[DONE]"
_T = TypeVar("_T")


class OpenAICompatibleHost:
    """A chat model reached through the OpenAI API shape."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        name: str,
        model: str,
        retry_seconds: float,
        close: Callable[[], Awaitable[None]] | None = None,
        embedding_model: str = "",
    ) -> None:
        self.name = name
        self.model = model
        self.embedding_model = embedding_model
        self.client = client
        self._retry_seconds = retry_seconds
        self._close_extra = close

    async def aclose(self) -> None:
        await self.client.close()
        if self._close_extra is not None:
            await self._close_extra()

    async def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | End]:
        response = await self._open_stream(prompt)
        finish: str | None = None
        usage: dict[str, Any] = {}
        done = False
        pending = b""
        try:
            try:
                # Undecoded bytes unless the server compressed them: two fewer layers a chunk.
                chunks = (
                    response.aiter_bytes()
                    if response.headers.get("content-encoding")
                    else response.aiter_raw()
                )
                async for data in chunks:
                    pending += data
                    if b"\n" not in data:
                        continue
                    *lines, pending = pending.split(b"\n")
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
                        if not choices:
                            continue  # Azure sends prompt filter results first
                        choice = choices[0]
                        delta = choice.get("delta")
                        if delta:
                            text = delta.get("content")
                            if text:
                                yield TextDelta(text)
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
                    if done:
                        break
            except httpx2.TimeoutException:
                log.warning("model stream stalled past the read timeout")
                raise errors.model_timeout() from None
            except (httpx2.HTTPError, OSError, orjson.JSONDecodeError) as exc:
                log.warning("model stream broke: %s", type(exc).__name__)
                raise errors.stream_interrupted() from None
            if not done and finish is None:
                raise errors.stream_interrupted()
            if finish == "content_filter":
                raise errors.content_filtered()
            yield End(finish or "stop", usage)
        finally:
            # Runs on completion, on error and when the client goes away (cancellation), so
            # the model stops generating tokens nobody will read.
            await response.aclose()

    async def _open_stream(self, prompt: Prompt) -> httpx2.Response:
        """Start the model's stream, retrying throttling and transient failures with backoff
        while the retry budget lasts; then raise the ChatError the client should see."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_seconds
        body: dict[str, Any] = {
            "model": self.model,
            "messages": prompt.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if prompt.temperature is not None:
            body["temperature"] = prompt.temperature
        # Serialised once with orjson and posted through the SDK's generic `post`, which still
        # does authentication, base URL and error mapping, and hands back the unread response.
        content = orjson.dumps(body)
        attempt = 0
        while True:
            try:
                return await self.client.post(
                    "/chat/completions",
                    cast_to=httpx2.Response,
                    content=content,
                    options={"headers": _RAW_STREAM_HEADERS},
                )
            except openai.APIStatusError as exc:
                error = errors.from_exception(exc)
                retryable = exc.status_code in _RETRYABLE
                hint = errors.retry_after_seconds(exc.response.headers)
            except (openai.APIConnectionError, TimeoutError) as exc:
                error = errors.from_exception(exc)
                retryable, hint = True, None
            delay = (
                hint if hint is not None else min(8.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)
            )
            attempt += 1
            if not retryable or loop.time() + delay > deadline:
                raise error
            log.info("model call failed (%s), retry %d in %.1fs", error.code, attempt, delay)
            await asyncio.sleep(delay)

    # ---- Calls off the hot path: typed SDK objects are fine here ---------------------------

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> str:
        """One non-streamed chat completion's text."""
        response = await self._with_retries(
            lambda: self.client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stream=False,
            )
        )
        if not response.choices:
            return ""
        choice = response.choices[0]
        if choice.finish_reason == "content_filter":
            raise errors.content_filtered()
        return choice.message.content or ""

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
        response = await self._with_retries(
            lambda: self.client.embeddings.create(
                model=self.embedding_model, input=texts, encoding_format="float"
            )
        )
        return [item.embedding for item in sorted(response.data, key=lambda item: item.index)]

    async def _with_retries(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """`call()`, retried as `_open_stream` retries: throttling and transient failures with
        backoff (honouring Retry-After) while the retry budget lasts; then the ChatError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_seconds
        attempt = 0
        while True:
            try:
                return await call()
            except openai.APIStatusError as exc:
                error = errors.from_exception(exc)
                retryable = exc.status_code in _RETRYABLE
                hint = errors.retry_after_seconds(exc.response.headers)
            except (openai.APIConnectionError, TimeoutError) as exc:
                error = errors.from_exception(exc)
                retryable, hint = True, None
            delay = (
                hint if hint is not None else min(8.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)
            )
            attempt += 1
            if not retryable or loop.time() + delay > deadline:
                raise error
            log.info("model call failed (%s), retry %d in %.1fs", error.code, attempt, delay)
            await asyncio.sleep(delay)


def create_host(settings: Settings) -> OpenAICompatibleHost:
    http_client = openai.DefaultAioHttpClient(
        timeout=httpx2.Timeout(settings.model_timeout_seconds, connect=10.0),
        limits=httpx2.Limits(max_connections=4000, max_keepalive_connections=1000),
    )
    if settings.model_host == "azure":
        return _azure_host(settings, http_client)
    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key or "not-needed",
        base_url=settings.openai_base_url or None,
        max_retries=0,
        http_client=http_client,
    )
    return OpenAICompatibleHost(
        client,
        name="openai",
        model=settings.openai_chat_model,
        retry_seconds=settings.model_retry_seconds,
        embedding_model=settings.openai_embedding_model,
    )


def _azure_host(settings: Settings, http_client: httpx2.AsyncClient) -> OpenAICompatibleHost:
    base_url = f"{settings.azure_openai_endpoint}/openai/v1/"
    close: Callable[[], Awaitable[None]] | None = None
    api_key: Any
    if settings.azure_openai_api_key:
        api_key = settings.azure_openai_api_key
    else:
        # Keyless: Microsoft Entra ID tokens from the app's managed identity (or the developer's
        # az/azd login locally), refreshed by the provider before they expire.
        from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

        credential = DefaultAzureCredential(
            managed_identity_client_id=settings.azure_client_id or None
        )
        api_key = get_bearer_token_provider(credential, AZURE_SCOPE)
        close = credential.close
    client = openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, max_retries=0, http_client=http_client
    )
    return OpenAICompatibleHost(
        client,
        name="azure",
        model=settings.azure_openai_chat_deployment,
        retry_seconds=settings.model_retry_seconds,
        close=close,
        embedding_model=settings.azure_openai_embedding_deployment,
    )
