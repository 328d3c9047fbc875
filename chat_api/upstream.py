"""What the model and search clients report about their calls (retries, throttling, usage) to
whoever listens: telemetry when it is on, no one otherwise. A bottom module, so that the clients
and telemetry know this one and not each other."""

from __future__ import annotations

from typing import Any, Protocol


class UpstreamListener(Protocol):
    def upstream_failure(self, code: str, retrying: bool) -> None: ...
    def upstream_throttled(self, upstream: str, status: int) -> None: ...
    def model_usage(self, usage: dict[str, Any], model: str) -> None: ...


_listener: UpstreamListener | None = None


def listen(listener: UpstreamListener | None) -> None:
    """`listener` hears every report from now on (None: no one does)."""
    global _listener
    _listener = listener


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
