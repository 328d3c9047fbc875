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
from chat_api.telemetry import Embed, Telemetry
from chat_api.telemetry.answer import AnswerTrace
from chat_api.telemetry.instruments import LIMITS_SIGNAL, Instruments, Recording
from chat_api.telemetry.spans import (
    MODEL,
    STAGE_KEY,
    UPSTREAM_KEY,
    UpstreamReport,
    record_failure,
    usage_attributes,
)

SCOPE = "chat_api"


class OpenTelemetry(Telemetry):
    enabled = True

    def __init__(
        self,
        shutdown: Callable[[], None],
        *,
        record_content: bool,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """The global providers (set by `setup.py`) unless others are given."""
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        self.instruments = Instruments(metrics.get_meter(SCOPE, meter_provider=meter_provider))
        self.recording = Recording(self.tracer, self.instruments, record_content)
        self._shutdown = shutdown

    def request(self, route: str, headers: Mapping[str, str] | None = None) -> AnswerTrace:
        # The caller's traceparent, if any; else whatever context is current (the Functions
        # worker sets the host's invocation span there).
        parent = propagate.extract(headers) if headers else None
        return AnswerTrace(self.recording, route, parent)

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

    # ---- What the model and search clients report (`chat_api.upstream`) -----------------------

    def upstream_failure(self, code: str, retrying: bool) -> None:
        upstream = otel_context.get_value(UPSTREAM_KEY)
        if isinstance(upstream, UpstreamReport):
            upstream.retries += retrying
        trace.get_current_span().add_event(
            "upstream_failure", {"error.type": code, "chat.retrying": retrying}
        )
        if retrying:
            self.instruments.retries.add(1, {"error.type": code})
        if code == Code.RATE_LIMITED:
            self._throttled(MODEL)

    def upstream_throttled(self, upstream: str, status: int) -> None:
        trace.get_current_span().add_event(
            "upstream_throttled", {"chat.upstream": upstream, "http.response.status_code": status}
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

    def limits_signal(self, signal: str) -> None:
        self.instruments.limits_signals.add(1, {LIMITS_SIGNAL: signal})

    def shutdown(self) -> None:
        self._shutdown()
