"""OpenTelemetry behind the telemetry interface: the app's metrics, a trace per request
(`answer.py`, with its stages' spans in `spans.py`), the embeddings' spans, and what the model and
search clients report (retries, throttling, usage), recorded on the span current at the time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind

from chat_api.errors import Code
from chat_api.retrieval import Embed
from chat_api.telemetry.answer import AnswerTrace
from chat_api.telemetry.spans import (
    MODEL,
    STAGE_KEY,
    UPSTREAM_KEY,
    UpstreamReport,
    record_failure,
    usage_attributes,
)
from chat_api.telemetry.tracer import app_tracer

SCOPE = "chat_api"


Attributes = tuple[tuple[str, str], ...]

# Bucket bounds in seconds, those the GenAI semantic conventions advise for a model's time to first
# token and for a model call's duration. The SDK's default bounds (0, 5, 10, 25, ... 10000) are
# made for milliseconds: in seconds nearly every answer would fall in one bucket.
# fmt: off
FIRST_TOKEN_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
# fmt: on


class Tally:
    """Counts by attribute set, kept as plain integers and read by an observable instrument
    each time the SDK collects. For the counters every answer moves: an SDK measurement costs
    tens of microseconds, a dictionary update well under one. Updated on the event loop's
    thread only, and copied whole (atomically, under the GIL) by the collecting thread."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[Attributes, int] = {}

    def add(self, amount: int, attributes: Attributes) -> None:
        self._counts[attributes] = self._counts.get(attributes, 0) + amount

    def observe(self, options: metrics.CallbackOptions) -> list[metrics.Observation]:
        counts = self._counts.copy()
        return [metrics.Observation(count, dict(key)) for key, count in counts.items()]


class Instruments:
    """The metrics, created once. Names and units: docs/observability.md."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.answers = _tallied(
            meter.create_observable_counter,
            "chat.answers",
            "{answer}",
            "Answers, by route and outcome.",
        )
        self.duration = meter.create_histogram(
            "chat.answer.duration",
            unit="s",
            description="Request to last line sent.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.first_token = meter.create_histogram(
            "chat.answer.time_to_first_token",
            unit="s",
            description="Request to first text.",
            explicit_bucket_boundaries_advisory=FIRST_TOKEN_BUCKETS,
        )
        self.tokens = _tallied(
            meter.create_observable_counter, "chat.tokens", "{token}", "Model tokens, by kind."
        )
        self.open_streams = _tallied(
            meter.create_observable_up_down_counter,
            "chat.streams.open",
            "{stream}",
            "Streamed answers in flight.",
        )
        # Rare events (a retry, a throttled call, a refusal), counted as they happen.
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
        self.feedback = meter.create_counter(
            "chat.feedback", unit="{rating}", description="Answers rated by visitors, by rating."
        )


def _tallied(create: Callable[..., object], name: str, unit: str, description: str) -> Tally:
    """A tally, and the observable instrument (`create` makes it) that reports it."""
    tally = Tally()
    create(name, callbacks=[tally.observe], unit=unit, description=description)
    return tally


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
        self.tracer = app_tracer(trace.get_tracer(SCOPE, tracer_provider=tracer_provider))
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
                otel_context.set_value(STAGE_KEY, "embedding", trace.set_span_in_context(span))
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
        upstream = otel_context.get_value(UPSTREAM_KEY)
        if isinstance(upstream, UpstreamReport):
            upstream.retries += retrying
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
        report = otel_context.get_value(UPSTREAM_KEY)
        if isinstance(report, UpstreamReport):
            report.throttled_by.add(upstream)
        self.instruments.throttled.add(1, {"chat.upstream": upstream})

    def model_usage(self, usage: dict[str, Any], model: str) -> None:
        """A model call's usage, on the span of the stage that made it, counted by stage."""
        stage = otel_context.get_value(STAGE_KEY)
        stage_name = stage if isinstance(stage, str) else ""
        attributes = usage_attributes(usage, model, self.instruments, stage_name)
        trace.get_current_span().set_attributes(attributes)

    def feedback(self, rating: str) -> None:
        self.instruments.feedback.add(1, {"chat.feedback.rating": rating})

    def shutdown(self) -> None:
        self._shutdown()
