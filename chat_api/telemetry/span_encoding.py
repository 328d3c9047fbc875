"""Spans as an OTLP export request, built in place.

The OTLP exporter's own encoder builds every attribute, span and group as a separate protobuf
message and then copies each into its parent, level by level: for an answer's two spans, 0.62
million instructions, some 40% of all that telemetry added to an answer. This encoder fills one
request message in place, in 0.23 million, and gives the same message (a test compares the two
on every kind of span); the library's exporter still sends it, with its retries and settings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind

log = logging.getLogger(__name__)

_KINDS = {
    SpanKind.INTERNAL: OtlpSpan.SpanKind.SPAN_KIND_INTERNAL,
    SpanKind.SERVER: OtlpSpan.SpanKind.SPAN_KIND_SERVER,
    SpanKind.CLIENT: OtlpSpan.SpanKind.SPAN_KIND_CLIENT,
    SpanKind.PRODUCER: OtlpSpan.SpanKind.SPAN_KIND_PRODUCER,
    SpanKind.CONSUMER: OtlpSpan.SpanKind.SPAN_KIND_CONSUMER,
}
_HAS_IS_REMOTE = 0x100  # SpanFlags: whether the parent is remote is known
_IS_REMOTE = 0x200


def encode_spans(sdk_spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """One request: the spans grouped by resource, then by instrumentation scope."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[ReadableSpan]]] = {}
    resource: Resource | None = None
    scope: InstrumentationScope | None = None
    group: list[ReadableSpan] = []
    for span in sdk_spans:
        # Most spans share their neighbour's resource and scope objects: no hashing for them.
        if not group or span.resource is not resource or span.instrumentation_scope is not scope:
            resource, scope = span.resource, span.instrumentation_scope
            group = groups.setdefault(resource, {}).setdefault(scope or None, [])
        group.append(span)
    request = ExportTraceServiceRequest()
    for each_resource, by_scope in groups.items():
        resource_spans = request.resource_spans.add()
        resource_spans.resource.SetInParent()
        _fill_attributes(resource_spans.resource.attributes, each_resource.attributes)
        if each_resource.schema_url:
            resource_spans.schema_url = each_resource.schema_url
        for each_scope, members in by_scope.items():
            scope_spans = resource_spans.scope_spans.add()
            _fill_scope(scope_spans, each_scope)
            add = scope_spans.spans.add
            for span in members:
                _fill_span(add(), span)
    return request


def _fill_scope(scope_spans: Any, scope: InstrumentationScope | None) -> None:
    scope_spans.scope.SetInParent()
    if scope is None:
        return
    message = scope_spans.scope
    message.name = scope.name
    if scope.version:
        message.version = scope.version
    _fill_attributes(message.attributes, scope.attributes)
    if scope.schema_url:
        scope_spans.schema_url = scope.schema_url


def _fill_span(message: Any, span: ReadableSpan) -> None:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    message.trace_id = context.trace_id.to_bytes(16, "big")
    message.span_id = context.span_id.to_bytes(8, "big")
    state = context.trace_state
    if state:
        message.trace_state = ",".join(f"{key}={value}" for key, value in state.items())
    parent = span.parent
    if parent:
        message.parent_span_id = parent.span_id.to_bytes(8, "big")
    message.name = span.name
    message.kind = _KINDS[span.kind]
    if span.start_time:
        message.start_time_unix_nano = span.start_time
    if span.end_time:
        message.end_time_unix_nano = span.end_time
    _fill_attributes(message.attributes, span.attributes)
    for event in span.events:
        encoded = message.events.add()
        encoded.name = event.name
        encoded.time_unix_nano = event.timestamp
        _fill_attributes(encoded.attributes, event.attributes)
        encoded.dropped_attributes_count = event.dropped_attributes
    for link in span.links:
        encoded = message.links.add()
        encoded.trace_id = link.context.trace_id.to_bytes(16, "big")
        encoded.span_id = link.context.span_id.to_bytes(8, "big")
        _fill_attributes(encoded.attributes, link.attributes)
        encoded.dropped_attributes_count = link.dropped_attributes
        encoded.flags = _flags(link.context)
    status = span.status
    if status is not None:
        message.status.code = status.status_code.value
        if status.description:
            message.status.message = status.description
    message.dropped_attributes_count = span.dropped_attributes
    message.dropped_events_count = span.dropped_events
    message.dropped_links_count = span.dropped_links
    message.flags = _flags(parent)


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if parent and parent.is_remote else _HAS_IS_REMOTE


def _fill_attributes(field: Any, attributes: Mapping[str, Any] | None) -> None:
    if not attributes:
        return
    for key, value in attributes.items():
        pair = field.add()
        pair.key = key
        try:
            _fill_value(pair.value, value)
        except Exception as exc:  # as the library does: the attribute is left out, not the span
            del field[-1]
            log.warning("telemetry: attribute %s left out: %s", key, type(exc).__name__)


def _fill_value(message: Any, value: Any) -> None:
    kind = type(value)
    # The usual types first, by exact type; then the library's own order of checks.
    if kind is str:
        message.string_value = value
    elif kind is int:
        message.int_value = value
    elif kind is float:
        message.double_value = value
    elif kind is bool:
        message.bool_value = value
    elif value is None:
        message.SetInParent()
    elif isinstance(value, bool):
        message.bool_value = value
    elif isinstance(value, str):
        message.string_value = value
    elif isinstance(value, int):
        message.int_value = value
    elif isinstance(value, float):
        message.double_value = value
    elif isinstance(value, bytes):
        message.bytes_value = value
    elif isinstance(value, Sequence):
        values = message.array_value.values
        message.array_value.SetInParent()
        for item in value:
            _fill_value(values.add(), item)
    elif isinstance(value, Mapping):
        pairs = message.kvlist_value.values
        message.kvlist_value.SetInParent()
        for key, item in value.items():
            pair = pairs.add()
            pair.key = str(key)
            _fill_value(pair.value, item)
    else:
        raise TypeError(f"an attribute of type {kind.__name__}")
