"""The events a chat pipeline yields, each defined once. `wire.py` turns them into bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from chat_api.errors import ChatError


@dataclass(frozen=True, slots=True)
class Step:
    """Progress: what the back end is doing now (the question, the search, generating, what the
    model is thinking). A step with an `id` may grow: a later Step with the same id and
    `append` set carries more of its detail (a model's thinking arrives word by word)."""

    title: str
    detail: str = ""
    elapsed_ms: int | None = None
    id: str = ""
    append: bool = False


@dataclass(frozen=True, slots=True)
class Citation:
    id: str
    title: str
    url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class Citations:
    items: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class End:
    """A complete answer. Without it a stream was cut."""

    finish_reason: str = "stop"
    usage: dict[str, Any] = field(default_factory=dict)
    model: str = ""  # the model that answered, when the host says (telemetry only)
    answer_id: str = ""  # set by the pipeline: what feedback on this answer refers to
    # Retrieval found nothing relevant enough: the answer says so, and no model wrote it.
    no_source: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    """The answer failed; always the last event."""

    error: ChatError
    ref: str = ""  # finds the request's trace and log lines


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Nothing to say yet (a reasoning model thinking): sent while a stream has been silent a
    while, so proxies and load balancers keep the connection open. Clients ignore it."""


Event = Step | Citations | TextDelta | End | Failure


async def close_events(events: AsyncIterator[Any]) -> None:
    """Close an event stream that will not be read to its end, so the calls behind it (the
    model's connection, a search) close at once rather than when it is collected."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
