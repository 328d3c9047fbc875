"""The in-place span encoder gives the very message the OTLP exporter's own encoder gives, for
every kind of span and attribute: the exporter sends whichever it is handed."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
    encode_spans as library_encode_spans,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from chat_api.telemetry.span_encoding import encode_spans

CALLER = SpanContext(
    0x4BF92F3577B34DA6A3CE929D0E0E4736,
    0x00F067AA0BA902B7,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "value"), ("other", "1")]),
)
EVERY_VALUE: dict[str, Any] = {
    "text": "words",
    "empty text": "",
    "count": 42,
    "zero": 0,
    "negative": -7,
    "ratio": 0.25,
    "flag": True,
    "off": False,
    "texts": ("a", "b"),
    "counts": (1, 2, 3),
    "ratios": (0.5, 1.5),
    "flags": (True, False),
    "nothing in it": (),
}


def _recorded_spans() -> list[ReadableSpan]:
    """Spans as the SDK records them: a server span under a remote caller, with children of
    every kind, events, a link, and each status."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "chat"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("chat_api")
    other = provider.get_tracer("azure.search", "11.6.0", schema_url="https://example.test/1")
    server = tracer.start_span(
        "POST /api/chat/stream",
        context=trace.set_span_in_context(trace.NonRecordingSpan(CALLER)),
        kind=SpanKind.SERVER,
        attributes=EVERY_VALUE,
    )
    inside = trace.set_span_in_context(server)
    for kind in SpanKind:
        child = tracer.start_span(f"stage {kind.name}", context=inside, kind=kind)
        child.add_event("upstream_failure", {"error.type": "rate_limited", "chat.retrying": True})
        child.add_event("bare")
        child.set_status(Status(StatusCode.ERROR, "model_unavailable"))
        child.end()
    linked = other.start_span("search", context=inside, links=[Link(CALLER, {"why": "caller"})])
    linked.set_status(Status(StatusCode.OK))
    linked.end()
    server.end()
    return list(exporter.get_finished_spans())


def _made_by_hand(**fields: Any) -> ReadableSpan:
    """A span as a processor or another library might hand one over."""
    context = SpanContext(0x1, 0x2, is_remote=False)
    base: dict[str, Any] = {
        "name": "by hand",
        "context": context,
        "resource": Resource({"service.name": "elsewhere"}, "https://example.test/r"),
        "start_time": 1,
        "end_time": 2,
    }
    return ReadableSpan(**{**base, **fields})


def _same(spans: list[ReadableSpan]) -> None:
    ours, theirs = encode_spans(spans), library_encode_spans(spans)

    assert ours == theirs
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True
    )


def test_spans_recorded_by_the_sdk_encode_as_the_library_encodes_them():
    spans = _recorded_spans()
    assert len(spans) == 2 + len(SpanKind)

    _same(spans)


def test_spans_of_several_resources_and_scopes_are_grouped_as_the_library_groups_them():
    recorded = _recorded_spans()
    unscoped = _made_by_hand(instrumentation_scope=None)
    scoped = _made_by_hand(
        instrumentation_scope=InstrumentationScope("lib", None, None, {"scope.kind": "x"})
    )

    _same([recorded[0], unscoped, recorded[1], scoped, recorded[-1]])


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"\x00\x01",
        {"nested": {"deeper": [1, "two", None]}, "list": ["x"]},
        [[1, 2], ("a",)],
        bytearray(b"ab"),
    ],
    ids=["none", "bytes", "mapping", "nested sequences", "bytearray"],
)
def test_values_the_sdk_would_not_record_still_encode_as_the_library_encodes_them(value):
    _same([_made_by_hand(attributes={"before": 1, "value": value, "after": "z"})])


@pytest.mark.parametrize(
    "value", [2**70, object(), [1, object()]], ids=["int too large", "object", "object inside"]
)
def test_an_attribute_that_cannot_be_encoded_is_left_out_as_the_library_leaves_it(value):
    span = _made_by_hand(attributes={"before": 1, "bad": value, "after": "z"})

    _same([span])
    assert [pair.key for pair in _only_span(span).attributes] == ["before", "after"]


def test_what_the_span_limits_dropped_is_counted_as_the_library_counts_it():
    exporter = InMemorySpanExporter()
    limits = SpanLimits(
        max_span_attributes=2,
        max_events=1,
        max_links=1,
        max_event_attributes=1,
        max_link_attributes=1,
    )
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    two = {"a": 1, "b": 2}
    span = provider.get_tracer("chat_api").start_span(
        "limited", attributes={**two, "c": 3}, links=[Link(CALLER, two), Link(CALLER, two)]
    )
    span.add_event("first", two)
    span.add_event("second", two)
    span.end()
    (recorded,) = exporter.get_finished_spans()

    _same([recorded])
    encoded = _only_span(recorded)
    assert (encoded.dropped_attributes_count, encoded.dropped_events_count) == (1, 1)
    assert encoded.dropped_links_count == 1
    assert encoded.events[0].dropped_attributes_count == 1
    assert encoded.links[0].dropped_attributes_count == 1


def test_no_spans_make_an_empty_request():
    _same([])


def _only_span(span: ReadableSpan) -> Any:
    return encode_spans([span]).resource_spans[0].scope_spans[0].spans[0]
