"""Each answer as one OpenTelemetry trace, and the app's metrics.

A server span runs from the request to the last line sent (or the client leaving), with a child
span per stage: the search query the model writes, embeddings, the search, and the model's streamed
answer, named and described by the GenAI semantic conventions. Per streamed chunk the cost is a
type check and, around each pull, the span made current (so logs and retries find it); everything
else happens once per answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from chat_api import errors
from chat_api.errors import ChatError, Code
from chat_api.events import End, Event, Failure, TextDelta
from chat_api.retrieval import Embed

if TYPE_CHECKING:
    from chat_api.reply import Reply

_E = TypeVar("_E")
_ANSWER = otel_context.create_key("chat.answer")
_STAGE = otel_context.create_key("chat.stage")  # which stage runs: tokens are counted by it
SCOPE = "chat_api"
MODEL = "model"  # the `chat.upstream` of the model service (the search service's: `search`)


class Instruments:
    """The metrics, created once. Names and units: docs/observability.md."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.answers = meter.create_counter(
            "chat.answers", unit="{answer}", description="Answers, by route and outcome."
        )
        self.duration = meter.create_histogram(
            "chat.answer.duration", unit="s", description="Request to last line sent."
        )
        self.first_token = meter.create_histogram(
            "chat.answer.time_to_first_token", unit="s", description="Request to first text."
        )
        self.tokens = meter.create_counter(
            "chat.tokens", unit="{token}", description="Model tokens, by kind."
        )
        self.open_streams = meter.create_up_down_counter(
            "chat.streams.open", unit="{stream}", description="Streamed answers in flight."
        )
        self.retries = meter.create_counter(
            "chat.upstream.retries", unit="{retry}", description="Model calls tried again."
        )
        self.throttled = meter.create_counter(
            "chat.upstream.throttled",
            unit="{response}",
            description="Throttled calls (the model's 429s, the search service's 429s and 503s).",
        )
        self.refused = meter.create_counter(
            "chat.requests.refused", unit="{request}", description="Requests refused, by reason."
        )


class OpenTelemetry:
    enabled = True

    def __init__(
        self,
        shutdown: Callable[[], None],
        *,
        record_content: bool,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """The global providers (set by `exporters.py`) unless others are given."""
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        self.instruments = Instruments(metrics.get_meter(SCOPE, meter_provider=meter_provider))
        self.record_content = record_content
        self._shutdown = shutdown

    def request(self, route: str, headers: Mapping[str, str] | None = None) -> AnswerTrace:
        # The caller's traceparent, if any; else whatever context is current (the Functions
        # worker sets the host's invocation span there).
        parent = propagate.extract(headers) if headers else None
        return AnswerTrace(self, route, parent)

    def traced_embed(self, embed: Embed, model: str) -> Embed:
        tracer = self.tracer

        async def traced(texts: list[str]) -> list[list[float]]:
            span = tracer.start_span(
                f"embeddings {model}",
                kind=SpanKind.CLIENT,
                attributes={
                    "gen_ai.operation.name": "embeddings",
                    "gen_ai.request.model": model,
                    "chat.stage": "embedding",
                    "chat.inputs": len(texts),
                },
            )
            token = otel_context.attach(
                otel_context.set_value(_STAGE, "embedding", trace.set_span_in_context(span))
            )
            try:
                return await embed(texts)
            except BaseException as exc:
                record_failure(span, exc)
                raise
            finally:
                otel_context.detach(token)
                span.end()

        return traced

    def upstream_failure(self, code: str, retrying: bool) -> None:
        answer = otel_context.get_value(_ANSWER)
        if isinstance(answer, AnswerTrace):
            answer.retries += retrying
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("upstream_failure", {"error.type": code, "chat.retrying": retrying})
        if retrying:
            self.instruments.retries.add(1, {"error.type": code})
        if code == Code.RATE_LIMITED:
            self._throttled(MODEL)

    def upstream_throttled(self, upstream: str, status: int) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "upstream_throttled",
                {"chat.upstream": upstream, "http.response.status_code": status},
            )
        self._throttled(upstream)

    def _throttled(self, upstream: str) -> None:
        answer = otel_context.get_value(_ANSWER)
        if isinstance(answer, AnswerTrace):
            answer.throttled_by.add(upstream)
        self.instruments.throttled.add(1, {"chat.upstream": upstream})

    def model_usage(self, usage: object, model: str) -> None:
        """A model call's usage, on the span of the stage that made it, counted by stage."""
        dump = getattr(usage, "model_dump", None)
        figures = dump() if callable(dump) else usage
        if not isinstance(figures, dict):
            return
        stage = otel_context.get_value(_STAGE)
        record_usage(
            trace.get_current_span(),
            figures,
            model,
            self.instruments,
            stage if isinstance(stage, str) else "",
        )

    def shutdown(self) -> None:
        self._shutdown()


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
            _ANSWER, self, trace.set_span_in_context(self.span, parent)
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

    async def model_stream(
        self, events: AsyncIterator[_E], model: str, prompt: object
    ) -> AsyncIterator[_E]:
        telemetry = self._telemetry
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "chat.stage": "answer",
        }
        messages = getattr(prompt, "messages", None)
        if telemetry.record_content and messages is not None:
            attributes["gen_ai.input.messages"] = orjson.dumps(messages).decode()
        span = telemetry.tracer.start_span(
            f"chat {model}", context=self.ctx, kind=SpanKind.CLIENT, attributes=attributes
        )
        current = trace.set_span_in_context(span, self.ctx)
        started = time.perf_counter()
        first: float | None = None
        texts: list[str] | None = [] if telemetry.record_content else None
        attach, detach = otel_context.attach, otel_context.detach
        try:
            while True:
                token = attach(current)
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                finally:
                    detach(token)
                if type(event) is End:
                    self._model_ended(span, event)  # type: ignore[arg-type]
                elif first is None and type(event) is TextDelta:
                    first = time.perf_counter()
                    span.set_attribute("chat.time_to_first_token_ms", _ms(first - started))
                if texts is not None and isinstance(event, TextDelta):
                    texts.append(event.text)
                yield event
        except BaseException as exc:
            record_failure(span, exc)
            raise
        finally:
            await _close(events)
            if texts is not None:
                span.set_attribute("gen_ai.output.messages", "".join(texts))
            span.end()

    def _model_ended(self, span: Span, end: End) -> None:
        span.set_attribute("gen_ai.response.finish_reasons", (end.finish_reason,))
        record_usage(span, end.usage or {}, end.model, self._telemetry.instruments, "answer")

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
            await _close(events)

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
            span.set_attribute("chat.time_to_first_token_ms", _ms(first))
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


class StageSpan:
    """A stage's span, current while the stage runs (no yield happens inside a stage)."""

    def __init__(
        self,
        answer: AnswerTrace,
        name: str,
        attributes: dict[str, Any],
        *,
        content: tuple[str, str],
        output: str = "",
    ) -> None:
        self._answer = answer
        self._name = name
        self._attributes = attributes
        self._record_content = answer._telemetry.record_content
        if self._record_content:
            attributes[content[0]] = content[1]
        self._output = output
        self._span: Span = trace.INVALID_SPAN
        self._token: object = None

    def __enter__(self) -> StageSpan:
        answer = self._answer
        self._span = answer._telemetry.tracer.start_span(
            self._name, context=answer.ctx, kind=SpanKind.CLIENT, attributes=self._attributes
        )
        current = trace.set_span_in_context(self._span, answer.ctx)
        self._token = otel_context.attach(
            otel_context.set_value(_STAGE, self._attributes["chat.stage"], current)
        )
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]
        if isinstance(error, BaseException):
            record_failure(self._span, error)
        self._span.end()

    def result(self, text: str = "", count: int | None = None) -> None:
        if count is not None:
            self._span.set_attribute("chat.search.results", count)
        if text and self._output and self._record_content:
            self._span.set_attribute(self._output, text)


def record_failure(span: Span, exc: BaseException) -> None:
    """What went wrong, as a code: never the exception's text, which may hold addresses."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        span.set_attribute("chat.cancelled", True)
        return
    code = exc.code if isinstance(exc, ChatError) else type(exc).__name__
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))


def record_usage(
    span: Span, usage: dict[str, Any], model: str, instruments: Instruments, stage: str
) -> None:
    """A model call's usage figures (either API's shape) on its span, and counted by kind."""
    tokens = {
        "input": usage.get("prompt_tokens", usage.get("input_tokens")),
        "output": usage.get("completion_tokens", usage.get("output_tokens")),
        "reasoning": _reasoning_tokens(usage),
    }
    if model:
        span.set_attribute("gen_ai.response.model", model)
    for kind, count in tokens.items():
        if type(count) is int:
            span.set_attribute(f"gen_ai.usage.{kind}_tokens", count)
            instruments.tokens.add(count, {"gen_ai.token.type": kind, "chat.stage": stage})


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


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    if type(usage.get("reasoning_tokens")) is int:  # the hosts' usage, one shape for both APIs
        return int(usage["reasoning_tokens"])
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    value = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return value if isinstance(value, int) else None


async def _close(iterator: AsyncIterator[Any]) -> None:
    """Close what we wrap when we are closed, so the model's connection closes at once."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
