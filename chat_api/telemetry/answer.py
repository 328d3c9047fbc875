"""One request's trace: its server span, and what the answer's events said about it.

The span runs from the request to the last line sent (or the client leaving), with a child span
per stage: the search query the model writes, embeddings, the search, and the model's streamed
answer, named and described by the GenAI semantic conventions (`spans.py`). Per streamed chunk the
cost is a type check and, around each pull, the span made current (so logs and retries find it);
everything else happens once per answer: its outcome, or the refusal that turned it away.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from chat_api import errors
from chat_api.errors import ChatError, Code
from chat_api.events import End, Event, Failure, TextDelta, close_events
from chat_api.telemetry.spans import (
    ANSWER_KEY,
    MODEL,
    StageSpan,
    to_ms,
    traced_model_stream,
)

if TYPE_CHECKING:
    from chat_api.reply import Reply
    from chat_api.telemetry.otel import OpenTelemetry

_E = TypeVar("_E")


class AnswerTrace:
    """One request's span, and what the answer's events said about it."""

    def __init__(self, telemetry: OpenTelemetry, route: str, parent: otel_context.Context | None):
        self._telemetry = telemetry
        self.route = route
        self.started = time.perf_counter()
        self.span = telemetry.tracer.start_span(
            f"POST {route}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": "POST", "http.route": route, "url.path": route},
        )
        self.ctx = otel_context.set_value(
            ANSWER_KEY, self, trace.set_span_in_context(self.span, parent)
        )
        self.ref = format(self.span.get_span_context().trace_id, "032x")[:12]
        self.span.set_attribute("chat.ref", self.ref)
        self.answered = False  # the pipeline ran: failures from here on are the answer's
        self.first_token: float | None = None
        self.finish_reason: str | None = None
        self.error: ChatError | None = None
        self.retries = 0
        self.throttled_by: set[str] = set()  # the upstreams that throttled this answer
        self._route_attributes = {"http.route": route}
        self._streaming = False  # the reply is a stream: `observe` sees its end
        self._over: bool | None = None  # the events ended: whether because the client left
        self._lines = 0
        self._ended = False

    # ---- Stages ------------------------------------------------------------------------------

    def query_stage(self, model: str, question: str) -> StageSpan:
        return StageSpan(
            self,
            f"chat {model}",
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "chat.stage": "query"},
            content=("chat.question", question),
            output="chat.search.query",
        )

    def search_stage(self, retriever: str, query: str) -> StageSpan:
        return StageSpan(
            self,
            f"search {retriever}",
            {"chat.stage": "search", "chat.retriever": retriever},
            content=("chat.search.query", query),
        )

    def model_stream(
        self, events: AsyncIterator[_E], model: str, prompt: object
    ) -> AsyncIterator[_E]:
        return traced_model_stream(self, events, model, prompt)

    # ---- The answer as the client gets it ----------------------------------------------------

    async def observe(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        """Every event becomes one line, and the pipeline is only asked for the next event once
        the previous line was sent: so when it has no more, the last line has left."""
        self.answered = True
        attach, detach = otel_context.attach, otel_context.detach
        current = self.ctx
        lines = 0
        try:
            while True:
                # The request's span is current while the pipeline works: its stages and log
                # lines find it (a context switch costs about a microsecond).
                token = attach(current)
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                finally:
                    detach(token)
                kind = type(event)
                if kind is TextDelta:
                    if self.first_token is None:
                        self.first_token = time.perf_counter()
                elif kind is End:
                    self.finish_reason = event.finish_reason  # type: ignore[union-attr]
                elif kind is Failure:
                    self.error = event.error  # type: ignore[union-attr]
                lines += 1
                yield event
            self._lines = lines
            self._stream_over(client_left=False)
        except Exception:
            # An unexpected failure (the pipeline maps every expected one to a Failure event):
            # the caller answers it as an internal error.
            self._lines = lines
            self.error = errors.internal()
            self._stream_over(client_left=False)
            raise
        except BaseException:
            # Cancelled while waiting for the pipeline (the client left), or closed while a
            # line was being sent.
            self._lines = lines
            self._stream_over(client_left=True)
            raise
        finally:
            await close_events(events)

    def finish(self, reply: Reply) -> Reply:
        """The reply is whole (end now), or a stream whose end `observe` sees."""
        self.span.set_attribute("http.response.status_code", reply.status)
        if reply.error is not None and self.error is None:
            self.error = reply.error
        if isinstance(reply.body, bytes) or not self.answered:
            self._end(client_left=False)
        else:
            self._streaming = True
            self._telemetry.instruments.open_streams.add(1, self._route_attributes)
            if self._over is not None:  # it ended before the reply was handed out
                self._stream_over(client_left=self._over)
        return reply

    def client_left(self) -> None:
        """The client went away before the reply was ready (an answer sent in one piece)."""
        self._end(client_left=True)

    def _stream_over(self, *, client_left: bool) -> None:
        self._over = client_left
        if self._streaming and not self._ended:
            self._telemetry.instruments.open_streams.add(-1, self._route_attributes)
            self._end(client_left=client_left)

    def _end(self, *, client_left: bool) -> None:
        if self._ended:
            return
        self._ended = True
        elapsed = time.perf_counter() - self.started
        span, instruments = self.span, self._telemetry.instruments
        error = self.error
        if error is not None:
            span.set_attribute("error.type", error.code)
            self._note_throttling_in_stream(error)
        if self.answered and self.route.endswith("/stream"):
            span.set_attribute("chat.lines", self._lines)
        if _refused(error, answered=self.answered, client_left=client_left):
            self._refused(error)
            return
        outcome = _outcome(self.finish_reason, error, client_left)
        attributes = {"http.route": self.route, "chat.outcome": outcome}
        span.set_attributes(
            {
                "chat.outcome": outcome,
                "chat.client_left": outcome == "client_left",
                "chat.rate_limited": bool(self.throttled_by),
                "chat.retries": self.retries,
            }
        )
        if self.throttled_by:
            span.set_attribute("chat.throttled_by", tuple(sorted(self.throttled_by)))
        if self.finish_reason is not None:
            span.set_attribute("gen_ai.response.finish_reasons", (self.finish_reason,))
        if self.first_token is not None:
            first = self.first_token - self.started
            span.set_attribute("chat.time_to_first_token_ms", to_ms(first))
            instruments.first_token.record(first, {"http.route": self.route})
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error.code))
        instruments.answers.add(1, attributes)
        instruments.duration.record(elapsed, attributes)
        span.end()

    def _note_throttling_in_stream(self, error: ChatError) -> None:
        """The model's throttling told inside its stream rather than by a 429 (already counted)."""
        if (
            error.code == Code.RATE_LIMITED
            and error.limit is None
            and MODEL not in self.throttled_by
        ):
            self.throttled_by.add(MODEL)
            self._telemetry.instruments.throttled.add(1, {"chat.upstream": MODEL})

    def _refused(self, error: ChatError | None) -> None:
        """Turned away before the model was asked: by a check of the request, or by one of the
        app's limits (which `error.limit` names)."""
        span = self.span
        reason = error.code if error is not None else "unknown"
        attributes = {"http.route": self.route, "chat.refusal.reason": reason}
        if error is not None and error.limit is not None:
            attributes["chat.limit"] = str(error.limit)
            span.set_attribute("chat.limit", str(error.limit))
        self._telemetry.instruments.refused.add(1, attributes)
        span.set_attribute("chat.outcome", "refused")
        if error is not None and error.status >= 500:
            span.set_status(Status(StatusCode.ERROR, error.code))
        span.end()


def _refused(error: ChatError | None, *, answered: bool, client_left: bool) -> bool:
    """Turned away without reaching the model: a limit of the app said no, or the request
    failed its checks before any answer began (an unexpected failure is no refusal)."""
    if error is None:
        return not answered and not client_left
    if error.limit is not None:
        return True
    return not answered and error.code != Code.INTERNAL_ERROR


def _outcome(finish_reason: str | None, error: ChatError | None, client_left: bool) -> str:
    if client_left and finish_reason is None and error is None:
        return "client_left"
    if error is not None:
        return "cut" if error.code == Code.STREAM_INTERRUPTED else "failed"
    if finish_reason in (None, "stop"):
        return "complete" if not client_left else "client_left"
    return finish_reason  # "length": cut at the output token cap
