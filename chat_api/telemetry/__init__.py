"""Telemetry behind one small interface, chosen at start-up from the settings.

Off unless APPLICATIONINSIGHTS_CONNECTION_STRING or OTEL_EXPORTER_OTLP_ENDPOINT is set. Off costs
nothing: no OpenTelemetry SDK, exporter or Azure Monitor package is imported, the hooks hand the
events through untouched, and a request reference is only made when an error needs one. On, the
OpenTelemetry implementation (`otel.py`, set up by `exporters.py`) traces each answer as one
server span (`answer.py`) with a child span per stage (`spans.py`), and records the metrics
docs/observability.md lists.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chat_api.events import Event
    from chat_api.reply import Reply
    from chat_api.retrieval import Embed
    from chat_api.settings import Settings


class Stage(Protocol):
    """One stage of an answer (writing the search query, the search), as a context manager."""

    def __enter__(self) -> Stage: ...
    def __exit__(self, kind: object, error: object, traceback: object) -> None: ...

    def result(self, text: str = "", count: int | None = None) -> None:
        """What the stage produced: text (recorded only with CHAT_TRACE_CONTENT=true) and how
        many items (sources found)."""


class RequestTrace(Protocol):
    """One request: from the body read to the last line sent, or the client leaving."""

    @property
    def ref(self) -> str:
        """A short reference, sent with an error, that finds this request's trace and logs."""
        ...

    def query_stage(self, model: str, question: str) -> Stage: ...
    def search_stage(self, retriever: str, query: str) -> Stage: ...

    def model_stage(self, model: str, prompt: object) -> None:
        """The model's streamed answer begins with the next event the pipeline is asked for:
        its span runs from then until the answer's End, or its failure."""

    def observe(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        """The answer's events as they go to the client."""
        ...

    def finish(self, reply: Reply) -> Reply:
        """Ends the request's span when the reply is whole, or when its stream ends."""
        ...

    def client_left(self) -> None:
        """Ends the request's span: the client went away before its reply was ready."""
        ...


class Telemetry(Protocol):
    enabled: bool

    def request(self, route: str, headers: Mapping[str, str] | None = None) -> RequestTrace: ...
    def traced_embed(self, embed: Embed, model: str) -> Embed: ...

    def feedback(self, rating: str) -> None:
        """A visitor rated an answer ("up" or "down")."""

    def shutdown(self) -> None: ...


# ---- Off -------------------------------------------------------------------------------------


class _NoStage:
    __slots__ = ()

    def __enter__(self) -> _NoStage:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        return None

    def result(self, text: str = "", count: int | None = None) -> None:
        return None


_NO_STAGE = _NoStage()


class _NoTrace:
    """Hands everything through; a reference is made only when an error asks for one."""

    __slots__ = ("_ref",)

    def __init__(self) -> None:
        self._ref = ""

    @property
    def ref(self) -> str:
        if not self._ref:
            import secrets  # only when an error needs a reference

            self._ref = secrets.token_hex(6)
        return self._ref

    def query_stage(self, model: str, question: str) -> _NoStage:
        return _NO_STAGE

    def search_stage(self, retriever: str, query: str) -> _NoStage:
        return _NO_STAGE

    def model_stage(self, model: str, prompt: object) -> None:
        return None

    def observe(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        return events

    def finish(self, reply: Reply) -> Reply:
        return reply

    def client_left(self) -> None:
        return None


class NoTelemetry:
    enabled = False

    def request(self, route: str, headers: Mapping[str, str] | None = None) -> _NoTrace:
        return _NoTrace()

    def traced_embed(self, embed: Embed, model: str) -> Embed:
        return embed

    def feedback(self, rating: str) -> None:
        return None

    def shutdown(self) -> None:
        return None


NO_TELEMETRY = NoTelemetry()


def no_trace() -> RequestTrace:
    """A request trace that records nothing (tests, and callers outside any request)."""
    return _NoTrace()


# ---- What the model and search clients report, to the span current there ----------------------


class UpstreamListener(Protocol):
    def upstream_failure(self, code: str, retrying: bool) -> None: ...
    def upstream_throttled(self, upstream: str, status: int) -> None: ...
    def model_usage(self, usage: dict[str, Any], model: str) -> None: ...


_listener: UpstreamListener | None = None


def upstream_failure(code: str, *, retrying: bool) -> None:
    """One attempt at a model call failed (code: what the client would be told), and whether it
    is tried again."""
    if _listener is not None:
        _listener.upstream_failure(code, retrying)


def upstream_throttled(upstream: str, status: int) -> None:
    """A service other than the model (`search`) throttled a call: answered 429, or 503."""
    if _listener is not None:
        _listener.upstream_throttled(upstream, status)


def model_usage(usage: dict[str, Any], model: str = "") -> None:
    """The usage figures of a model call made outside the answer's stream (the search query,
    embeddings), and the model that answered (`chat_api.usage` reports them)."""
    if _listener is not None:
        _listener.model_usage(usage, model)


def _listen(listener: UpstreamListener | None) -> None:
    global _listener
    _listener = listener


# ---- Choosing ----------------------------------------------------------------------------------


def create_telemetry(settings: Settings) -> Telemetry:
    """Off, or OpenTelemetry exporting where the settings say; only then imported."""
    if not settings.telemetry_enabled:
        return NO_TELEMETRY
    from chat_api.telemetry.exporters import start_exporters
    from chat_api.telemetry.otel import OpenTelemetry

    providers = start_exporters(settings)
    telemetry = OpenTelemetry(providers, record_content=settings.trace_content)
    _listen(telemetry)
    return telemetry
