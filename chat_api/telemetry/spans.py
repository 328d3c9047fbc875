"""The spans inside an answer's trace: its stages', and what every one of them records.

A stage that runs at once is a context manager (`StageSpan`: the search query the model writes,
the search); the model's streamed answer, which yields, is a `ModelSpan` that the answer's trace
keeps current and ends as the events go by, so no layer is added between the model and the wire.
Each records a failure as a code, and a model call's usage on its span, counted by the stage that
made it. The context keys say which answer and which stage are current, so what the model and
search clients report (they know neither) lands on the right span and counter.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from chat_api.errors import ChatError
from chat_api.events import End

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context

    from chat_api.telemetry.answer import AnswerTrace
    from chat_api.telemetry.otel import Instruments

UPSTREAM_KEY = otel_context.create_key("chat.upstream")  # the answer's `UpstreamReport`
STAGE_KEY = otel_context.create_key("chat.stage")  # which stage runs: tokens are counted by it
MODEL = "model"  # the `chat.upstream` of the model service (the search service's: `search`)


class UpstreamReport:
    """What the model and search clients reported while one answer ran: its retries, and which
    upstreams throttled it. The answer's context carries this, not the answer's trace: a context
    that held the trace, which holds the context, would be a cycle, and every answer's spans
    would wait for the garbage collector instead of being freed when the answer ends."""

    __slots__ = ("retries", "throttled_by")

    def __init__(self) -> None:
        self.retries = 0
        self.throttled_by: set[str] = set()


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
        self._token: Token[Context] | None = None

    def __enter__(self) -> StageSpan:
        answer = self._answer
        self._span = answer._telemetry.tracer.start_span(
            self._name, context=answer.ctx, kind=SpanKind.CLIENT, attributes=self._attributes
        )
        current = trace.set_span_in_context(self._span, answer.ctx)
        self._token = otel_context.attach(
            otel_context.set_value(STAGE_KEY, self._attributes["chat.stage"], current)
        )
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
        if isinstance(error, BaseException):
            record_failure(self._span, error)
        self._span.end()

    def result(self, text: str = "", count: int | None = None) -> None:
        if count is not None:
            self._span.set_attribute("chat.search.results", count)
        if text and self._output and self._record_content:
            self._span.set_attribute(self._output, text)


class ModelSpan:
    """The model's streamed answer (the `answer` stage). It yields, so it is not current for
    its whole life: the answer's trace makes it current around each pull of the events, and
    ends it by what the events say (End, a Failure, or none: the client left)."""

    __slots__ = ("_ended", "_instruments", "_span", "_started", "ctx", "texts")

    def __init__(self, answer: AnswerTrace, model: str, prompt: object) -> None:
        telemetry = answer._telemetry
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "chat.stage": "answer",
        }
        messages = getattr(prompt, "messages", None)
        if telemetry.record_content and messages is not None:
            attributes["gen_ai.input.messages"] = orjson.dumps(messages).decode()
        self._span = telemetry.tracer.start_span(
            f"chat {model}", context=answer.ctx, kind=SpanKind.CLIENT, attributes=attributes
        )
        self.ctx = trace.set_span_in_context(self._span, answer.ctx)
        self.texts: list[str] | None = [] if telemetry.record_content else None
        self._instruments = telemetry.instruments
        self._started = time.perf_counter()
        self._ended = False

    def first_text(self, at: float) -> None:
        self._span.set_attribute("chat.time_to_first_token_ms", to_ms(at - self._started))

    def ended(self, end: End) -> None:
        attributes = usage_attributes(end.usage or {}, end.model, self._instruments, "answer")
        attributes["gen_ai.response.finish_reasons"] = (end.finish_reason,)
        self._span.set_attributes(attributes)
        self.close()

    def failed(self, error: ChatError) -> None:
        if not self._ended:
            record_failure(self._span, error)
            self.close()

    def cancelled(self) -> None:
        """The client left; after the model's End that no longer concerns the model's call."""
        if not self._ended:
            self._span.set_attribute("chat.cancelled", True)
            self.close()

    def close(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self.texts is not None:
            self._span.set_attribute("gen_ai.output.messages", "".join(self.texts))
        self._span.end()


def record_failure(span: Span, exc: BaseException) -> None:
    """What went wrong, as a code: never the exception's text, which may hold addresses."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        span.set_attribute("chat.cancelled", True)
        return
    code = exc.code if isinstance(exc, ChatError) else type(exc).__name__
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))


def usage_attributes(
    usage: dict[str, Any], model: str, instruments: Instruments, stage: str
) -> dict[str, Any]:
    """A model call's usage figures (either API's shape) as span attributes, counted by kind on
    the way."""
    tokens = {
        "input": usage.get("prompt_tokens", usage.get("input_tokens")),
        "output": usage.get("completion_tokens", usage.get("output_tokens")),
        "reasoning": _reasoning_tokens(usage),
    }
    attributes: dict[str, Any] = {"gen_ai.response.model": model} if model else {}
    for kind, count in tokens.items():
        if type(count) is int:
            attributes[f"gen_ai.usage.{kind}_tokens"] = count
            instruments.tokens.add(count, (("gen_ai.token.type", kind), ("chat.stage", stage)))
    return attributes


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    if type(usage.get("reasoning_tokens")) is int:  # the hosts' usage, one shape for both APIs
        return int(usage["reasoning_tokens"])
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    value = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return value if isinstance(value, int) else None


def to_ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
