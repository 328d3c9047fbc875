"""One request's trace: its server span, and what the answer's events said about it.

The span runs from the request to the last line sent (or the client leaving), with a child span
per stage: the search query the model writes, embeddings, the search, and the model's streamed
answer, named and described by the GenAI semantic conventions (`spans.py`). Per streamed chunk the
cost is a type check and, around each pull, the span made current (so logs and retries find it);
everything else happens once per answer: its outcome, or the refusal that turned it away.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from chat_api import errors
from chat_api.errors import ChatError, Code
from chat_api.events import End, Event, Failure, TextDelta, close_events
from chat_api.telemetry import RequestTrace
from chat_api.telemetry.spans import (
    MODEL,
    UPSTREAM_KEY,
    ModelSpan,
    StageSpan,
    UpstreamReport,
    to_ms,
)

if TYPE_CHECKING:
    from chat_api.reply import Reply
    from chat_api.telemetry.instruments import Recording


class AnswerTrace(RequestTrace):
    """One request's span, and what the answer's events said about it."""

    def __init__(self, recording: Recording, route: str, parent: otel_context.Context | None):
        self._recording = recording
        self._instruments = recording.instruments
        self.route = route
        self.started = time.perf_counter()
        self.span = recording.tracer.start_span(
            f"POST {route}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": "POST", "http.route": route, "url.path": route},
        )
        self.upstream = UpstreamReport()
        self.ctx = otel_context.set_value(
            UPSTREAM_KEY, self.upstream, trace.set_span_in_context(self.span, parent)
        )
        self._ref = format(self.span.get_span_context().trace_id, "032x")[:12]
        self.answered = False  # the pipeline ran: failures from here on are the answer's
        self.first_token: float | None = None
        self.finish_reason: str | None = None
        self.no_source = False  # declined: nothing relevant found, no model asked
        self.error: ChatError | None = None
        self._route = {"http.route": route}
        self._status = 0  # the reply's, once there is one
        self._streaming = False  # the reply is a stream: `observe` sees its end
        self._over: bool | None = None  # the events ended: whether because the client left
        self._lines = 0
        self._ended = False
        self._model: ModelSpan | None = None
        self._texts: list[str] | None = None  # the model span's, with CHAT_TRACE_CONTENT=true
        self._current = self.ctx  # the context the pipeline runs in: its current stage's

    # ---- Stages ------------------------------------------------------------------------------

    def query_stage(self, model: str, question: str) -> StageSpan:
        return StageSpan(
            self._recording,
            self.ctx,
            f"chat {model}",
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "chat.stage": "query"},
            content=("chat.question", question),
            output="chat.search.query",
        )

    def search_stage(self, retriever: str, query: str) -> StageSpan:
        return StageSpan(
            self._recording,
            self.ctx,
            f"search {retriever}",
            {"chat.stage": "search", "chat.retriever": retriever},
            content=("chat.search.query", query),
        )

    def model_stage(self, model: str, prompt: object) -> None:
        """The model's call begins with the next pull of the events: its span is current from
        then on, and ends with the answer's End, its failure, or the client leaving."""
        self._model = ModelSpan(self._recording, self.ctx, model, prompt)
        self._current = self._model.ctx
        self._texts = self._model.texts

    # ---- The answer as the client gets it ----------------------------------------------------

    async def observe(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        """Every event becomes one line, and the pipeline is only asked for the next event once
        the previous line was sent: so when it has no more, the last line has left. The one
        layer per answer between the pipeline and the wire: it also keeps the model's span."""
        self.answered = True
        lines = 0
        try:
            while True:
                # The current stage's span is current while the pipeline works: its clients and
                # log lines find it.
                token = otel_context.attach(self._current)
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                finally:
                    otel_context.detach(token)
                if type(event) is TextDelta:
                    if self.first_token is None:
                        self._first_text()
                    if self._texts is not None:  # the answer's text, recorded only if asked
                        self._texts.append(event.text)
                elif type(event) is End:
                    self.finish_reason = event.finish_reason
                    self.no_source = event.no_source
                    if self._model is not None:
                        self._model.ended(event)
                elif type(event) is Failure:
                    self.error = event.error
                    if self._model is not None:
                        self._model.failed(self.error)
                lines += 1
                yield event
            self._lines = lines
            self._stream_over(client_left=False)
        except Exception:
            # An unexpected failure (the pipeline maps every expected one to a Failure event):
            # the caller answers it as an internal error.
            self._lines = lines
            self.error = errors.internal()
            if self._model is not None:
                self._model.failed(self.error)
            self._stream_over(client_left=False)
            raise
        except BaseException:
            # Cancelled while waiting for the pipeline (the client left), or closed while a
            # line was being sent.
            self._lines = lines
            if self._model is not None:
                self._model.cancelled()
            self._stream_over(client_left=True)
            raise
        finally:
            await close_events(events)
            if self._model is not None:
                self._model.close()  # the events ended without saying how

    def _first_text(self) -> None:
        self.first_token = time.perf_counter()
        if self._model is not None:
            self._model.first_text(self.first_token)

    def finish(self, reply: Reply) -> Reply:
        """The reply is whole (end now), or a stream whose end `observe` sees."""
        self._status = reply.status
        if reply.error is not None and self.error is None:
            self.error = reply.error
        if isinstance(reply.body, bytes) or not self.answered:
            self._end(client_left=False)
        else:
            self._streaming = True
            self._instruments.open_streams.add(1, self._route)
            if self._over is not None:  # it ended before the reply was handed out
                self._stream_over(client_left=self._over)
        return reply

    def client_left(self) -> None:
        """The client went away before the reply was ready (an answer sent in one piece)."""
        self._end(client_left=True)

    def _stream_over(self, *, client_left: bool) -> None:
        self._over = client_left
        if self._streaming and not self._ended:
            self._instruments.open_streams.add(-1, self._route)
            self._end(client_left=client_left)

    def _end(self, *, client_left: bool) -> None:
        if self._ended:
            return
        self._ended = True
        elapsed = time.perf_counter() - self.started
        span, instruments = self.span, self._instruments
        error = self.error
        # Set at once, and only what says something: each attribute is work on every answer,
        # here and again when the span is exported.
        attributes: dict[str, Any] = {"chat.ref": self.ref}
        if self._status:
            attributes["http.response.status_code"] = self._status
        if error is not None:
            attributes["error.type"] = error.code
            self._note_throttling_in_stream(error)
        if self.answered and self.route.endswith("/stream"):
            attributes["chat.lines"] = self._lines
        if _refused(error, answered=self.answered, client_left=client_left):
            self._refused(error, attributes)
            return
        outcome = _outcome(self.finish_reason, error, client_left)
        attributes["chat.outcome"] = outcome
        if outcome == "client_left":
            attributes["chat.client_left"] = True
        upstream = self.upstream
        if upstream.throttled_by:
            attributes["chat.rate_limited"] = True
            attributes["chat.throttled_by"] = tuple(sorted(upstream.throttled_by))
        if upstream.retries:
            attributes["chat.retries"] = upstream.retries
        if self.first_token is not None:
            first = self.first_token - self.started
            attributes["chat.time_to_first_token_ms"] = to_ms(first)
            instruments.first_token.record(first, self._route)
        span.set_attributes(attributes)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error.code))
        outcome_attributes = {"http.route": self.route, "chat.outcome": outcome}
        instruments.answers.add(1, outcome_attributes)
        if self.no_source:  # no page attribute: its values are unbounded
            instruments.declined.add(1, {"http.route": self.route})
        instruments.duration.record(elapsed, outcome_attributes)
        span.end()

    def _note_throttling_in_stream(self, error: ChatError) -> None:
        """The model's throttling told inside its stream rather than by a 429 (already counted)."""
        if (
            error.code == Code.RATE_LIMITED
            and error.limit is None
            and MODEL not in self.upstream.throttled_by
        ):
            self.upstream.throttled_by.add(MODEL)
            self._instruments.throttled.add(1, {"chat.upstream": MODEL})

    def _refused(self, error: ChatError | None, attributes: dict[str, Any]) -> None:
        """Turned away before the model was asked: by a check of the request, or by one of the
        app's limits (which `error.limit` names)."""
        span = self.span
        reason = error.code if error is not None else "unknown"
        refusal = {"http.route": self.route, "chat.refusal.reason": reason}
        if error is not None and error.limit is not None:
            refusal["chat.limit"] = attributes["chat.limit"] = str(error.limit)
        self._instruments.refused.add(1, refusal)
        attributes["chat.outcome"] = "refused"
        span.set_attributes(attributes)
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
