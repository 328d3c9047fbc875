"""Telemetry behind one small interface, chosen at start-up from the settings.

Off unless APPLICATIONINSIGHTS_CONNECTION_STRING or OTEL_EXPORTER_OTLP_ENDPOINT is set. Off costs
nothing: no OpenTelemetry SDK, exporter or Azure Monitor package is imported, the classes below
hand everything through untouched, and a request reference is only made when an error needs one.
On, `otel.py` (set up by `setup.py`) subclasses them: each answer is one trace, a server span
(`answer.py`) with a child span per stage (`spans.py`), plus the metrics docs/observability.md
lists.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_api.events import Event
    from chat_api.reply import Reply
    from chat_api.settings import Settings

# A model's embeddings call (the retriever's type, spelled here so telemetry needs no retrieval).
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


class Stage:
    """One stage of an answer (writing the search query, the search), as a context manager."""

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        return None

    def result(self, text: str = "", count: int | None = None) -> None:
        """What the stage produced: text (recorded only with CHAT_TRACE_CONTENT=true) and how
        many items (sources found)."""


_NO_STAGE = Stage()


class RequestTrace:
    """One request, from the body read to the last line sent, or the client leaving. This one
    records nothing."""

    _ref = ""

    @property
    def ref(self) -> str:
        """A short reference, sent with an error, that finds this request's trace and logs."""
        if not self._ref:
            import secrets  # only when an error needs a reference

            self._ref = secrets.token_hex(6)
        return self._ref

    def query_stage(self, model: str, question: str) -> Stage:
        return _NO_STAGE

    def search_stage(self, retriever: str, query: str) -> Stage:
        return _NO_STAGE

    def model_stage(self, model: str, prompt: object) -> None:
        """The model's streamed answer begins with the next event the pipeline is asked for:
        its span runs from then until the answer's End, or its failure."""

    def observe(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        """The answer's events as they go to the client."""
        return events

    def finish(self, reply: Reply) -> Reply:
        """Ends the request's span when the reply is whole, or when its stream ends."""
        return reply

    def client_left(self) -> None:
        """Ends the request's span: the client went away before its reply was ready."""


class Telemetry:
    """Off: every request gets a trace that records nothing."""

    enabled = False

    def request(self, route: str, headers: Mapping[str, str] | None = None) -> RequestTrace:
        return RequestTrace()

    def traced_embed(self, embed: Embed, model: str) -> Embed:
        return embed

    def feedback(self, rating: str) -> None:
        """A visitor rated an answer ("up" or "down")."""

    def limits_signal(self, signal: str) -> None:
        """The limits warn about something (`budget_80_percent`, `store_unavailable`, callers
        the app cannot tell apart: docs/observability.md)."""

    def shutdown(self) -> None:
        return None


NO_TELEMETRY = Telemetry()


def no_trace() -> RequestTrace:
    """A request trace that records nothing (tests, and callers outside any request)."""
    return RequestTrace()


def create_telemetry(settings: Settings) -> Telemetry:
    """Off, or OpenTelemetry exporting where the settings say; only then imported."""
    if not settings.telemetry_enabled:
        return NO_TELEMETRY
    from chat_api import upstream
    from chat_api.telemetry.otel import OpenTelemetry
    from chat_api.telemetry.setup import start_exporters

    telemetry = OpenTelemetry(start_exporters(settings), record_content=settings.trace_content)
    upstream.listen(telemetry)
    return telemetry
