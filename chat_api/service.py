"""The API's behaviour, independent of any web framework: request bytes in, a `Reply` out.

`asgi.py` adapts it to FastAPI/Starlette (the streaming functions and `make run`);
`function_app.py` adapts it to classic Azure Functions responses when streaming is off.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from chat_api import errors, openapi, wire
from chat_api.answer_lines import AnswerLines, opening_window
from chat_api.errors import ChatError
from chat_api.events import Event, Failure, Step
from chat_api.feedback import FeedbackBook
from chat_api.hosts import ModelHost, check_overrides, create_host
from chat_api.limits import Limiter, MemoryStore, create_limiter, create_store
from chat_api.pipeline import stream_chat
from chat_api.protocol import ChatRequest, FeedbackRequest, Health
from chat_api.reply import Reply, error_reply, internal_error_reply
from chat_api.retrieval import Embed, Retriever, create_retriever
from chat_api.settings import Settings
from chat_api.telemetry import NO_TELEMETRY, RequestTrace, Telemetry
from chat_api.usage import CallTally
from chat_api.visits import VisitLog
from chat_api.visits.report import report
from chat_api.visits.writes import ReportWrites

STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
STREAM_ROUTE = "/api/chat/stream"
# How a parsed request's events become its reply: streamed, as lines in one body, or whole.
Respond = Callable[[ChatRequest, AsyncGenerator[Event, None], str], Awaitable[Reply]]
CHAT_ROUTE = "/api/chat"
Model = TypeVar("Model", bound=BaseModel)
# A request's body, or what reads it: a refusal while it is read (too large, the client gone)
# raises the ChatError, answered as any other refusal.
Body = bytes | Awaitable[bytes]


async def _traced(trace: RequestTrace, work: Awaitable[Reply]) -> Reply:
    """`work`'s reply, its trace ended however it ends: with the reply, as an internal error
    (which then has the trace's reference), or with the client gone (the request cancelled)."""
    try:
        reply = await work
    except asyncio.CancelledError:
        trace.client_left()
        raise
    except Exception as exc:
        reply = internal_error_reply(exc, trace.ref)
    return trace.finish(reply)


class ChatService:
    def __init__(
        self,
        settings: Settings,
        host: ModelHost,
        retriever: Retriever | None = None,
        limiter: Limiter | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
        feedback_book: FeedbackBook | None = None,
        visits: VisitLog | None = None,
    ) -> None:
        self.settings = settings
        self.host = host
        self.retriever = retriever
        self.limiter = limiter
        self.telemetry = telemetry
        self.feedback_book = feedback_book or FeedbackBook(MemoryStore())
        self.visits = visits or VisitLog(MemoryStore(), keep_questions=settings.keep_questions)

    @classmethod
    def from_settings(cls, settings: Settings, telemetry: Telemetry = NO_TELEMETRY) -> ChatService:
        """The model host and the retriever the settings name, made by their packages, and the
        limits around every answer."""
        host = create_host(settings)
        # Vector queries need the host's embeddings; offline there are none (text only).
        embed: Embed | None = host.embed if settings.embedding_model else None
        if embed is not None:
            embed = telemetry.traced_embed(embed, settings.embedding_model)
        retriever = create_retriever(settings, embed)
        # The ratings and the answers' counts are kept where the limits' counts are: one store,
        # one table.
        store = create_store(settings)
        limiter = create_limiter(settings, store, telemetry.limits_signal)
        # The report's writes leave the store alone while the limits' breaker says it is sick.
        breaker = limiter.ledger if limiter.ledger.shared is not None else None
        writes = ReportWrites(breaker=breaker)
        visits = VisitLog(store, keep_questions=settings.keep_questions, writes=writes)
        return cls(settings, host, retriever, limiter, telemetry, FeedbackBook(store), visits)

    async def aclose(self) -> None:
        await self.visits.aclose()  # before the limits close the store the report writes to
        if self.limiter is not None:
            await self.limiter.aclose()
        await self.host.aclose()
        if self.retriever is not None:
            await self.retriever.aclose()

    # ---- Requests ------------------------------------------------------------------------

    def parse(self, content_type: str | None, body: bytes) -> ChatRequest:
        """Validate a request body, or raise the ChatError (4xx) that says what is wrong."""
        limits = self.settings.limits
        request = _validated(ChatRequest, self._json_object(content_type, body))
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
        check_overrides(self.host, request.context.overrides)
        return request

    def _json_object(self, content_type: str | None, body: bytes) -> dict[str, Any]:
        """The body's JSON object, or the ChatError that says why there is none."""
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise errors.unsupported_media_type()
        limit = self.settings.limits.max_body_bytes
        if len(body) > limit:
            raise errors.too_large(f"The request body is over {limit} bytes.")
        try:
            # orjson refuses invalid UTF-8, lone surrogates and nesting past its depth limit.
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise errors.error(errors.Code.INVALID_JSON) from None
        if not isinstance(data, dict):
            raise errors.bad_request("The body must be a JSON object.")
        return data

    def events(
        self, request: ChatRequest, client: str | None = None, trace: RequestTrace | None = None
    ) -> AsyncGenerator[Event, None]:
        """The answer's events; `client` is the address the platform reports for the caller."""
        calls = CallTally()  # the model calls before the answer: the limits charge them too
        events = stream_chat(
            request,
            settings=self.settings,
            host=self.host,
            retriever=self.retriever,
            trace=trace,
            calls=calls,
        )
        events = self.visits.observe(request, events)  # counted after the end line
        if self.limiter is not None:
            ref = str if trace is None else lambda: trace.ref
            events = self.limiter.guard(client, request, events, ref, calls)
        # Outermost, so a refusal by the limits is traced and gets its reference too.
        return events if trace is None else trace.observe(events)

    # ---- Routes ----------------------------------------------------------------------------

    async def stream(
        self,
        content_type: str | None,
        body: Body,
        headers: Mapping[str, str] | None = None,
        client: str | None = None,
    ) -> Reply:
        """`POST /api/chat/stream`: NDJSON lines as they are produced, starting at once."""
        return await self._answer(STREAM_ROUTE, content_type, body, headers, client, self._stream)

    async def buffered_stream(
        self,
        content_type: str | None,
        body: Body,
        headers: Mapping[str, str] | None = None,
        client: str | None = None,
    ) -> Reply:
        """The same lines as `stream`, sent at once, for hosts and proxies that buffer. The status
        is the outcome's: an answer that fails before its first word is an error status."""
        return await self._answer(STREAM_ROUTE, content_type, body, headers, client, self._lines)

    async def complete(
        self,
        content_type: str | None,
        body: Body,
        headers: Mapping[str, str] | None = None,
        client: str | None = None,
    ) -> Reply:
        """`POST /api/chat`: one completion; any failure is an error status."""
        return await self._answer(CHAT_ROUTE, content_type, body, headers, client, self._whole)

    async def _answer(
        self,
        route: str,
        content_type: str | None,
        body: Body,
        headers: Mapping[str, str] | None,
        client: str | None,
        respond: Respond,
    ) -> Reply:
        """One request, traced from its bytes to its last line: parsed, then answered."""
        trace = self.telemetry.request(route, headers)
        return await _traced(
            trace, self._parse_and_respond(content_type, body, client, trace, respond)
        )

    async def _parse_and_respond(
        self,
        content_type: str | None,
        body: Body,
        client: str | None,
        trace: RequestTrace,
        respond: Respond,
    ) -> Reply:
        try:
            request = self.parse(content_type, body if isinstance(body, bytes) else await body)
        except ChatError as error:
            return error_reply(self._counted(error, client), trace.ref)
        return await respond(request, self.events(request, client, trace), trace.ref)

    async def _stream(
        self, request: ChatRequest, events: AsyncGenerator[Event, None], ref: str
    ) -> Reply:
        held, pending = await opening_window(events, self.settings.opening_window_seconds)
        if held and isinstance(held[-1], Failure):
            await events.aclose()
            return error_reply(held[-1].error, held[-1].ref)
        return Reply(
            200,
            AnswerLines(held, pending, events, ref),
            wire.NDJSON,
            dict(STREAM_HEADERS),
            keepalive_seconds=self.settings.keepalive_seconds or None,
        )

    async def _lines(
        self, request: ChatRequest, events: AsyncGenerator[Event, None], ref: str
    ) -> Reply:
        collected = [event async for event in events]
        first = next((e for e in collected if type(e) is not Step), None)
        if isinstance(first, Failure):
            return error_reply(first.error, first.ref)
        lines = b"".join(wire.ndjson_line(event) for event in collected)
        return Reply(200, lines, wire.NDJSON, {"Cache-Control": "no-store"})

    async def _whole(
        self, request: ChatRequest, events: AsyncGenerator[Event, None], ref: str
    ) -> Reply:
        collected: list[Event] = []
        async for event in events:
            if isinstance(event, Failure):
                return error_reply(event.error, event.ref)
            collected.append(event)
        return Reply(200, wire.completion_body(collected, request.sessionState))

    async def feedback(
        self,
        content_type: str | None,
        body: Body,
        headers: Mapping[str, str] | None = None,
        client: str | None = None,
    ) -> Reply:
        """`POST /api/feedback`: a visitor's rating of an answer, counted against the client's
        limits like any request, kept for the report, and counted in the telemetry."""
        try:
            raw = body if isinstance(body, bytes) else await body
            if self.limiter is not None and (refusal := await self.limiter.admit(client)):
                raise refusal
            feedback = _validated(FeedbackRequest, self._json_object(content_type, raw))
        except ChatError as error:
            return error_reply(error)
        await self.feedback_book.record(feedback)
        self.visits.rated(feedback)  # in the background: the 204 waits for the rating only
        self.telemetry.feedback(feedback.rating)
        return Reply(204, b"")

    async def report(self, days: int) -> Reply:
        """`GET /api/report` under `make run` only: what visitors asked, per UTC day, from this
        process's store (never deployed: it would show every visitor's pages and questions)."""
        return Reply(200, orjson.dumps(await report(self.feedback_book.store, days)))

    def refuse(
        self, route: str, error: ChatError, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """A request the HTTP layer refused before reading it (not through the app's Front
        Door): traced with a reference, and counted against no client."""
        trace = self.telemetry.request(route, headers)
        return trace.finish(error_reply(error, trace.ref))

    def _counted(self, error: ChatError, client: str | None) -> ChatError:
        """An invalid request is a billed execution too: it counts against its client's
        requests per minute, and past them is refused as any other request would be."""
        if self.limiter is None or error.status >= 500:
            return error
        return self.limiter.count_refused_request(client) or error

    def health(self) -> Reply:
        # Only what the Health model lists: no address, identity, key or limit of the app; in
        # Azure only that it is up and whether it streams (which model and backends it uses
        # is no one else's business).
        settings = self.settings
        if settings.in_azure:
            up = Health(status="ok", streaming=settings.streaming)
            return Reply(200, wire.json_body(up.model_dump(exclude_none=True)))
        health = Health(
            status="ok",
            mode="offline" if settings.model_host == "offline" else "model",
            streaming=settings.streaming,
            model_host=settings.model_host,
            model=self.host.model,
            retrieval=self.retriever.name if self.retriever else "off",
        )
        return Reply(200, wire.json_body(health.model_dump()))

    def openapi(self) -> Reply:
        return Reply(200, openapi.document_bytes())


def _validated(model: type[Model], data: dict[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.bad_request(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """The first validation problem, with where it is; never the offending value."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"Invalid request: {where}: {first['msg']}."
