"""Telemetry recorded in memory for the telemetry tests: the OpenTelemetry implementation
listening, with an in-memory span exporter and metric reader, and the app (the OpenAI host over the
mocked model, Azure AI Search) reporting to it. The `recorded` fixtures are in conftest.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import SpanKind

from chat_api import telemetry as telemetry_package
from chat_api.service import ChatService
from chat_api.telemetry.otel import OpenTelemetry
from tests.unit.test_pipeline import SETTINGS  # the same app: OpenAI host, Azure AI Search

if TYPE_CHECKING:  # conftest.py imports this module for its fixtures
    from tests.unit.conftest import Opened


@dataclasses.dataclass
class Recorded:
    telemetry: OpenTelemetry
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> dict[str, ReadableSpan]:
        """Spans by their stage (`server` for the request's own)."""
        out = {}
        for span in self.spans.get_finished_spans():
            stage = "server" if span.kind is SpanKind.SERVER else span.attributes.get("chat.stage")
            out[stage or span.name] = span
        return out

    def metric_points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


def recording(record_content: bool = False, sampler: Sampler | None = None) -> Iterator[Recorded]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=sampler)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = OpenTelemetry(
        lambda: None,
        record_content=record_content,
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    telemetry_package._listen(telemetry)
    yield Recorded(telemetry, spans, reader)
    telemetry_package._listen(None)


def recorded_service(recorded: Recorded, opened: Opened, **changes: Any) -> ChatService:
    return opened.service(SETTINGS.model_copy(update=changes), recorded.telemetry)


async def streamed_lines(
    service: ChatService, body: dict, headers: dict | None = None
) -> list[dict]:
    reply = await service.stream("application/json", orjson.dumps(body), headers)
    if isinstance(reply.body, bytes):
        return [orjson.loads(reply.body)]
    return [orjson.loads(line) async for line in reply.body]
