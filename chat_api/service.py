"""The API's behaviour, independent of any web framework: request bytes in, a `Reply` out.

`asgi.py` adapts it to FastAPI/Starlette (the streaming functions and `make run`);
`function_app.py` adapts it to classic Azure Functions responses when streaming is off.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import orjson
from pydantic import ValidationError

from chat_api import errors, openapi, wire
from chat_api.errors import ChatError
from chat_api.events import Event, Failure, Step
from chat_api.hosts import ModelHost
from chat_api.pipeline import stream_chat
from chat_api.protocol import ChatRequest
from chat_api.retrieval import Retriever
from chat_api.settings import Settings, SettingsError
from chat_api.telemetry import NO_TELEMETRY, RequestTrace, Telemetry

log = logging.getLogger(__name__)

STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
STREAM_ROUTE = "/api/chat/stream"
CHAT_ROUTE = "/api/chat"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes | AsyncIterator[bytes]
    media_type: str = wire.JSON
    headers: dict[str, str] = field(default_factory=dict)
    error: ChatError | None = None


def error_reply(error: ChatError, ref: str = "") -> Reply:
    """The error body and status; `ref` finds the request's trace and log lines."""
    log.info("request answered with %s %s (ref %s)", error.status, error.code, ref or "none")
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
        # A page on another origin (the Static Web App calling the Function App) may read it:
        # the platform's CORS adds the allowed origin but exposes no response headers.
        headers["Access-Control-Expose-Headers"] = "Retry-After"
    return Reply(error.status, wire.error_body(error, ref), wire.JSON, headers, error)


class ChatService:
    def __init__(
        self,
        settings: Settings,
        host: ModelHost,
        retriever: Retriever | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.settings = settings
        self.host = host
        self.retriever = retriever
        self.telemetry = telemetry

    @classmethod
    def from_settings(cls, settings: Settings, telemetry: Telemetry = NO_TELEMETRY) -> ChatService:
        """Choose the model host and the retriever the settings name; import only those."""
        host: ModelHost
        if settings.model_host == "offline":
            from chat_api.hosts.offline import OfflineHost

            host = OfflineHost()
        else:
            from chat_api.hosts.openai_compatible import create_host

            host = create_host(settings)
        retriever: Retriever | None = None
        if settings.retrieval == "local":
            from pathlib import Path

            from chat_api.retrieval.local import DEFAULT_KNOWLEDGE_BASE, LocalRetriever

            if settings.local_index:
                index_file = Path(settings.local_index)
                if not index_file.is_file():
                    raise SettingsError(
                        "CHAT_LOCAL_INDEX names no index file; build it with make ingest"
                    )
                retriever = LocalRetriever.open(index_file)
            else:
                folder = Path(settings.knowledge_base_dir or DEFAULT_KNOWLEDGE_BASE)
                retriever = LocalRetriever.from_folder(folder)
        elif settings.retrieval == "azure":
            from chat_api.retrieval.azure_search import create_retriever

            # Vector queries need the host's embeddings; offline there are none (text only).
            embed = host.embed if settings.embedding_model else None
            if embed is not None:
                embed = telemetry.traced_embed(embed, settings.embedding_model)
            retriever = create_retriever(settings, embed)
        return cls(settings, host, retriever, telemetry)

    async def aclose(self) -> None:
        await self.host.aclose()
        if self.retriever is not None:
            await self.retriever.aclose()

    # ---- Requests ------------------------------------------------------------------------

    def parse(self, content_type: str | None, body: bytes) -> ChatRequest:
        """Validate a request body, or raise the ChatError (4xx) that says what is wrong."""
        limits = self.settings.limits
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise ChatError(415, "unsupported_media_type", "Send the request as application/json.")
        if len(body) > limits.max_body_bytes:
            raise errors.too_large(f"The request body is over {limits.max_body_bytes} bytes.")
        try:
            # orjson refuses invalid UTF-8, lone surrogates and nesting past its depth limit.
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise errors.bad_request("The body is not valid JSON.", "invalid_json") from None
        if not isinstance(data, dict):
            raise errors.bad_request("The body must be a JSON object.")
        try:
            request = ChatRequest.model_validate(data)
        except ValidationError as exc:
            raise errors.bad_request(_describe(exc)) from None
        messages = request.messages
        if len(messages) > limits.max_messages:
            raise errors.too_large(
                f"A conversation may have at most {limits.max_messages} messages."
            )
        for index, message in enumerate(messages):
            if len(message.content) > limits.max_message_chars:
                raise errors.too_large(
                    f"messages[{index}] is over {limits.max_message_chars} characters."
                )
            if index and message.role == messages[index - 1].role:
                raise errors.bad_request("Messages must alternate between user and assistant.")
        if messages[-1].role != "user":
            raise errors.bad_request("The last message must be the user's question.")
        if not messages[-1].content.strip():
            raise errors.bad_request("The question is empty.")
        return request

    def events(
        self, request: ChatRequest, trace: RequestTrace | None = None
    ) -> AsyncIterator[Event]:
        events = stream_chat(
            request, settings=self.settings, host=self.host, retriever=self.retriever, trace=trace
        )
        return events if trace is None else trace.observe(events)

    # ---- Routes ----------------------------------------------------------------------------

    async def stream(
        self, content_type: str | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """`POST /api/chat/stream`: NDJSON lines as they are produced."""
        trace = self.telemetry.request(STREAM_ROUTE, headers)
        return trace.finish(await self._stream(content_type, body, trace))

    async def _stream(self, content_type: str | None, body: bytes, trace: RequestTrace) -> Reply:
        try:
            request = self.parse(content_type, body)
        except ChatError as error:
            return error_reply(error, trace.ref)
        events = self.events(request, trace)
        # The status line is sent with the first byte, so hold the (quick) leading steps until
        # the first other event: a failure before any answer then gets its own status code.
        held: list[Event] = []
        async for event in events:
            held.append(event)
            if type(event) is not Step:
                break
        if held and isinstance(held[-1], Failure):
            await events.aclose()  # type: ignore[attr-defined]
            return error_reply(held[-1].error, held[-1].ref)
        return Reply(200, _lines(held, events), wire.NDJSON, dict(STREAM_HEADERS))

    async def buffered_stream(
        self, content_type: str | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """The same lines as `stream`, sent at once, for hosts and proxies that buffer."""
        reply = await self.stream(content_type, body, headers)
        if isinstance(reply.body, bytes):
            return reply
        lines = [line async for line in reply.body]
        return Reply(reply.status, b"".join(lines), reply.media_type, {"Cache-Control": "no-store"})

    async def complete(
        self, content_type: str | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """`POST /api/chat`: one completion; any failure is an error status."""
        trace = self.telemetry.request(CHAT_ROUTE, headers)
        return trace.finish(await self._complete(content_type, body, trace))

    async def _complete(self, content_type: str | None, body: bytes, trace: RequestTrace) -> Reply:
        try:
            request = self.parse(content_type, body)
        except ChatError as error:
            return error_reply(error, trace.ref)
        collected: list[Event] = []
        async for event in self.events(request, trace):
            if isinstance(event, Failure):
                return error_reply(event.error, event.ref)
            collected.append(event)
        return Reply(200, wire.completion_body(collected, request.sessionState))

    def refuse(
        self, route: str, error: ChatError, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """A request refused before it reached the service (by the HTTP layer)."""
        trace = self.telemetry.request(route, headers)
        return trace.finish(error_reply(error, trace.ref))

    def health(self) -> Reply:
        settings = self.settings
        return Reply(
            200,
            wire.json_body(
                {
                    "status": "ok",
                    "mode": "offline" if settings.model_host == "offline" else "model",
                    "streaming": settings.streaming,
                    "model_host": settings.model_host,
                    "model": self.host.model,
                    "retrieval": self.retriever.name if self.retriever else "off",
                }
            ),
        )

    def openapi(self) -> Reply:
        return Reply(200, openapi.document_bytes())


async def _lines(held: list[Event], events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    for event in held:
        yield wire.ndjson_line(event)
    line = wire.ndjson_line
    async for event in events:
        yield line(event)


def _describe(exc: ValidationError) -> str:
    """The first validation problem, with where it is; never the offending value."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"Invalid request: {where}: {first['msg']}."
