"""The answer, the hot path of an OpenAI-compatible host: one POST whose server-sent events are
read straight off a pooled aiohttp connection, framed by `sse.SSEDecoder` and read by the API's
reader (`responses.py`, `chat_completions.py`), which parses only the events it needs and keeps
only their text, so a streamed chunk costs one small parse, no object tree and no log line.

Kept apart from the host's other calls (`openai_compatible.py`), which go through the OpenAI SDK:
this client never imports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from chat_api import model_errors
from chat_api.events import End, Step, TextDelta
from chat_api.hosts import chat_completions, responses
from chat_api.hosts.model_events import AnswerReader
from chat_api.hosts.retries import RETRYABLE_STATUSES, UpstreamFailure, with_retries
from chat_api.hosts.sse import SSEDecoder, SSEError
from chat_api.prompt import Prompt
from chat_api.settings import ModelApi

log = logging.getLogger(__name__)

ApiKey = str | Callable[[], Awaitable[str]]
_MAX_ERROR_BODY = 64 * 1024


class AnswerClient:
    """Streams a model's answers through the Responses API or Chat Completions."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: ApiKey | None,
        model: str,
        api: ModelApi,
        reasoning: bool,
        reasoning_effort: str,
        reasoning_summary: bool,
        max_output_tokens: int,
        retry_seconds: float,
        timeout_seconds: float,
    ) -> None:
        self.model = model
        self.api = api
        self.reasoning = reasoning
        self.reasoning_effort = reasoning_effort
        self.reasoning_summary = reasoning_summary
        self.max_output_tokens = max_output_tokens
        path = responses.PATH if api == "responses" else chat_completions.PATH
        self._answer_url = URL(base_url + path)  # parsed once, not per call
        self._api_key = api_key
        self._retry_seconds = retry_seconds
        self._timeout = aiohttp.ClientTimeout(sock_connect=10.0, sock_read=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._proxy: URL | None = None
        self._proxy_auth: aiohttp.BasicAuth | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

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
