"""The app's own spans: OpenTelemetry's tracing API, recorded into the SDK's pipeline.

An SDK span checks every attribute through generic validation (made for values of any shape),
takes a lock for each change, and copies itself when it ends: 175 thousand instructions for a
request's span with eight attributes, the largest part of what telemetry added to an answer. The
app's spans carry attributes of its own making (strings, numbers, flags), so `AppSpan` keeps them
in a plain dict, checks just their type, and is itself the finished span handed on: 71 thousand.
Everything else is the SDK's, taken from its tracer for the app's scope: the sampler, ids,
limits, resource, and the span processors, so batching, exporters and the Azure Monitor distro's
processors get what the SDK's spans give them.
A span is changed by the thread that runs the answer (the event loop's) and by nothing once ended.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from time import time_ns
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util import types

_PLAIN = frozenset({str, int, float, bool})  # taken as they are (and tuples of them): the app's


def app_tracer(tracer: trace.Tracer) -> trace.Tracer:
    """The app's tracer over the SDK's tracer for its scope; any other tracer (telemetry off, a
    no-op provider, another implementation) as it is."""
    if type(tracer) is sdk_trace.Tracer:
        return AppTracer(tracer)
    return tracer


class AppTracer(trace.Tracer):
    """Starts `AppSpan`s as the SDK's tracer would start its spans: the same sampling, ids and
    trace flags, and the span processors told of each start and end."""

    def __init__(self, sdk: sdk_trace.Tracer) -> None:
        self.sampler = sdk.sampler
        self.id_generator = sdk.id_generator
        self.span_processor = sdk.span_processor
        self.resource = sdk.resource
        self.instrumentation_scope = sdk._instrumentation_scope
        self.limits = sdk._span_limits

    def start_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        links = links or ()
        parent: SpanContext | None = trace.get_current_span(context).get_span_context()
        if parent is None or not parent.is_valid:
            parent = None
            trace_id = self.id_generator.generate_trace_id()
            random_trace_id = self.id_generator.is_trace_id_random()
        else:
            trace_id = parent.trace_id
            random_trace_id = parent.trace_flags.random_trace_id
        sampling = self.sampler.should_sample(context, trace_id, name, kind, attributes, links)
        decision = sampling.decision
        flags = TraceFlags.SAMPLED if decision is Decision.RECORD_AND_SAMPLE else TraceFlags.DEFAULT
        if random_trace_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        span_context = SpanContext(
            trace_id,
            self.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(flags),
            trace_state=sampling.trace_state,
        )
        if decision is Decision.DROP:
            return trace.NonRecordingSpan(span_context)
        span = AppSpan(self, name, span_context, parent, kind, links, start_time or time_ns())
        if sampling.attributes:
            span.set_attributes(sampling.attributes)
        # Typed for the SDK's spans; the processors read a span through the API and
        # `ReadableSpan`, which this one is.
        self.span_processor.on_start(span, parent_context=context)  # type: ignore[arg-type]
        return span

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class AppSpan(trace.Span, ReadableSpan):
    """A span that is its own record: processors read it as the SDK's `ReadableSpan` once it
    has ended, and it changes no more."""

    def __init__(
        self,
        tracer: AppTracer,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        links: Sequence[Link],
        start_time: int,
    ) -> None:
        ReadableSpan.__init__(
            self,
            name=name,
            context=context,
            parent=parent,
            resource=tracer.resource,
            attributes={},
            events=[],
            links=[_link(link, tracer.limits) for link in links[: tracer.limits.max_links]],
            kind=kind,
            start_time=start_time,
            instrumentation_scope=tracer.instrumentation_scope,
        )
        self._tracer = tracer
        self._dropped_attributes = 0
        self._dropped_events = 0
        self._dropped_links = max(0, len(links) - len(self._links))

    # ---- Recording ---------------------------------------------------------------------------

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if self._end_time is None:
            self._set(key, value)

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        if self._end_time is None:
            for key, value in attributes.items():
                self._set(key, value)

    def _set(self, key: str, value: types.AnyValue) -> None:
        attributes: dict[str, Any] = self._attributes  # type: ignore[assignment]
        limits = self._tracer.limits
        longest = limits.max_span_attribute_length
        kind = type(value)
        if (
            type(key) is not str
            or not key
            or (kind not in _PLAIN and not _plain_tuple(value, longest))
        ):
            # Someone else's key or value (the app's are all plain): the SDK's own checks.
            checked = BoundedAttributes(attributes={key: value}, max_value_len=longest)
            if not checked:
                self._dropped_attributes += 1
                return
            ((key, value),) = checked.items()
        elif kind is str and longest is not None:
            value = value[:longest]  # type: ignore[index]
        most = limits.max_span_attributes
        if key in attributes:
            del attributes[key]
        elif most is not None and len(attributes) >= most:
            del attributes[next(iter(attributes))]  # the oldest makes room, as in the SDK
            self._dropped_attributes += 1
        attributes[key] = value

    def add_event(
        self,
        name: str,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
    ) -> None:
        if self._end_time is not None:
            return
        limits = self._tracer.limits
        events: list[Event] = self._events  # type: ignore[assignment]
        most = limits.max_events
        if most is not None and len(events) >= most:  # the oldest makes room, as in the SDK
            self._dropped_events += 1
            if not events:
                return
            del events[0]
        checked = BoundedAttributes(
            limits.max_event_attributes,
            attributes,
            max_value_len=limits.max_attribute_length,
        )
        events.append(Event(name, checked, timestamp or time_ns()))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if self._end_time is not None or not context.is_valid:
            return
        limits = self._tracer.limits
        links: list[Link] = self._links  # type: ignore[assignment]
        if limits.max_links is not None and len(links) >= limits.max_links:
            self._dropped_links += 1
            return
        links.append(_link(Link(context, attributes), limits))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """As the SDK's: OK is final, and UNSET changes nothing."""
        if self._end_time is not None:
            return
        if self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """The exception's type only: its message and traceback may hold addresses or keys."""
        recorded = {"exception.type": type(exception).__name__, "exception.escaped": str(escaped)}
        self.add_event("exception", {**recorded, **(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            return
        self._end_time = end_time or time_ns()
        processor = self._tracer.span_processor
        processor._on_ending(self)  # type: ignore[arg-type]
        processor.on_end(self)

    # ---- Reading -----------------------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]

    def is_recording(self) -> bool:
        return self._end_time is None

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    @property
    def dropped_events(self) -> int:
        return self._dropped_events

    @property
    def dropped_links(self) -> int:
        return self._dropped_links

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'


def _plain_tuple(value: object, longest: int | None) -> bool:
    """A tuple of plain values, whose texts need no cutting."""
    if type(value) is not tuple:
        return False
    return all(
        type(item) in _PLAIN and (longest is None or type(item) is not str or len(item) <= longest)
        for item in value
    )


def _link(link: Link, limits: sdk_trace.SpanLimits) -> Link:
    checked = BoundedAttributes(
        limits.max_link_attributes, link.attributes, max_value_len=limits.max_attribute_length
    )
    return Link(link.context, checked)
