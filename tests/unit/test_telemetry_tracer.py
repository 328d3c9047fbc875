"""The app's spans reach the span processors and exporters exactly as the SDK's spans would:
the same calls give the same exported message, the same sampling, the same limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
    encode_spans as library_encode_spans,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from chat_api.telemetry.span_encoding import encode_spans
from chat_api.telemetry.tracer import AppSpan, AppTracer, app_tracer

CALLER = SpanContext(
    0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, TraceFlags(TraceFlags.SAMPLED)
)
AT = 1_700_000_000_000_000_000  # every time stamp is given, so both runs agree on them


class CountingIds(IdGenerator):
    """The same ids, in the same order, for both tracers."""

    def __init__(self) -> None:
        self.last = 0

    def generate_span_id(self) -> int:
        self.last += 1
        return self.last

    def generate_trace_id(self) -> int:
        self.last += 1
        return self.last << 64

    def is_trace_id_random(self) -> bool:
        return True  # so the trace flags say so


def _exported(
    use_app_tracer: bool,
    calls: Callable[[trace.Tracer], None],
    limits: SpanLimits | None = None,
    sampler: Sampler = ALWAYS_ON,
) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=sampler,
        resource=Resource.create({"service.name": "chat"}),
        id_generator=CountingIds(),
        span_limits=limits,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("chat_api", "1.0")
    calls(app_tracer(tracer) if use_app_tracer else tracer)
    return list(exporter.get_finished_spans())


def _an_answer(tracer: trace.Tracer) -> None:
    """What the app's code does to its spans, and a few things others might do to them."""
    server = tracer.start_span(
        "POST /api/chat/stream",
        context=trace.set_span_in_context(trace.NonRecordingSpan(CALLER)),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": "POST", "http.route": "/api/chat/stream"},
        start_time=AT,
    )
    inside = trace.set_span_in_context(server)
    model = tracer.start_span(
        "chat gpt-5-mini",
        context=inside,
        kind=SpanKind.CLIENT,
        attributes={"gen_ai.operation.name": "chat", "chat.stage": "answer"},
        links=[Link(CALLER, {"why": "caller"})],
        start_time=AT + 1,
    )
    model.set_attribute("chat.time_to_first_token_ms", 12.5)
    model.add_event("upstream_failure", {"error.type": "rate_limited", "chat.retrying": True}, AT)
    model.set_attributes(
        {
            "gen_ai.usage.input_tokens": 20,
            "gen_ai.response.finish_reasons": ("stop",),
            "chat.long text": "x" * 40,
            "someone's list": ["a", "b"],
            "long texts": ("y" * 20, "z"),
            "someone's odd value": object,
            "": "no key",
        }
    )
    model.set_status(Status(StatusCode.ERROR, "model_unavailable"))
    model.end(AT + 5)
    model.set_attribute("after the end", True)  # ignored, as by the SDK
    model.end(AT + 9)
    server.update_name("POST /api/chat/stream (renamed)")
    server.set_status(StatusCode.OK)
    server.set_status(StatusCode.ERROR, "too late: OK is final")
    server.set_attributes({"chat.ref": "0af7651916cd", "chat.lines": 42, "chat.rate_limited": True})
    server.add_link(CALLER)
    server.end(AT + 10)


@pytest.mark.parametrize(
    "limits",
    [
        None,
        SpanLimits(max_span_attributes=3, max_span_attribute_length=8, max_events=0),
    ],
    ids=["default limits", "tight limits"],
)
def test_an_app_span_is_exported_as_the_sdk_would_export_the_same_calls(
    limits: SpanLimits | None,
):
    sdk_spans = _exported(False, _an_answer, limits)
    app_spans = _exported(True, _an_answer, limits)

    assert [type(span) for span in app_spans] == [AppSpan, AppSpan]
    assert [(span.context, span.parent) for span in app_spans] == [
        (span.context, span.parent) for span in sdk_spans
    ]
    assert library_encode_spans(app_spans) == library_encode_spans(sdk_spans)
    assert [span.dropped_attributes for span in app_spans] == [
        span.dropped_attributes for span in sdk_spans
    ]
    assert [span.dropped_events for span in app_spans] == [
        span.dropped_events for span in sdk_spans
    ]


def test_the_in_place_encoder_gives_the_library_s_message_for_app_spans():
    spans = _exported(True, _an_answer)

    assert encode_spans(spans) == library_encode_spans(spans)


class NotingSampler(Sampler):
    """Samples every other trace, and marks what it keeps."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None):  # type: ignore[no-untyped-def]
        if (trace_id >> 64) % 2:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, {**(attributes or {}), "kept": 1})
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "every other"


def _three_roots(tracer: trace.Tracer) -> None:
    for index in range(3):
        tracer.start_span(f"root {index}", start_time=AT).end(AT + 1)


@pytest.mark.parametrize("sampler", [ALWAYS_OFF, NotingSampler()], ids=["none", "every other"])
def test_the_provider_s_sampler_decides_which_app_spans_are_recorded(sampler: Sampler):
    app_spans = _exported(True, _three_roots, sampler=sampler)
    sdk_spans = _exported(False, _three_roots, sampler=sampler)

    assert [span.context for span in app_spans] == [span.context for span in sdk_spans]
    assert library_encode_spans(app_spans) == library_encode_spans(sdk_spans)


def test_a_child_follows_its_parent_s_sampling_decision():
    unsampled = SpanContext(0x1, 0x2, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))

    def child_of_unsampled(tracer: trace.Tracer) -> None:
        parent = trace.set_span_in_context(trace.NonRecordingSpan(unsampled))
        span = tracer.start_span("child", context=parent)
        assert not span.is_recording()
        span.end()

    assert _exported(True, child_of_unsampled, sampler=ParentBased(ALWAYS_ON)) == []


class NotingProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        span.set_attribute("noted.at.start", True)  # as the Azure Monitor distro's processor may
        self.seen.append(("start", span.name, span.is_recording()))

    def on_end(self, span: ReadableSpan) -> None:
        self.seen.append(("end", span.name, dict(span.attributes)["noted.at.start"]))


def test_span_processors_see_each_span_start_and_end():
    processor = NotingProcessor()
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = app_tracer(provider.get_tracer("chat_api"))

    tracer.start_span("stage").end()

    assert processor.seen == [("start", "stage", True), ("end", "stage", True)]


def test_a_recorded_exception_keeps_its_type_not_its_message():
    def failing(tracer: trace.Tracer) -> None:
        span = tracer.start_span("search")
        span.record_exception(ConnectionError("https://search.internal:443 refused"))
        span.end()

    (span,) = _exported(True, failing)

    (event,) = span.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {
        "exception.type": "ConnectionError",
        "exception.escaped": "False",
    }


def test_a_span_started_as_current_is_current_inside_and_ended_after():
    def current(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("stage") as span:
            assert trace.get_current_span() is span
            assert span.is_recording()
        assert not span.is_recording()

    (span,) = _exported(True, current)
    assert span.name == "stage"


def test_a_tracer_other_than_the_sdk_s_is_used_as_it_is():
    for tracer in (trace.NoOpTracer(), trace.ProxyTracer("chat_api")):
        assert app_tracer(tracer) is tracer
    assert isinstance(app_tracer(TracerProvider().get_tracer("chat_api")), AppTracer)
