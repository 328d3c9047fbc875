"""The report's writes, off the answers' path: each runs as a background task this object owns
(a reference kept until it ends, so none is collected mid-flight).

- At most `max_in_flight` at once: past that a write is skipped, so a store that hangs cannot
  pile up tasks or memory behind the answers.
- When the limits' circuit breaker (`chat_api.limits.ledger`) says the shared store is sick, a
  write is skipped rather than sent to it; a write the store fails opens that breaker too, so
  the limits and the report leave a sick store alone together.
- What is skipped is counted (`skipped`) and logged at WARNING, at most once a minute.
- At shutdown (`aclose`) the writes under way get a short deadline to finish; the rest are
  cancelled, and the store is closed after (by the limits)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from chat_api.limits.store import RecordBusy, StoreUnavailable
from chat_api.process import OncePer

log = logging.getLogger("chat_api.visits")

MAX_IN_FLIGHT = 64
CLOSE_SECONDS = 3.0

Write = Callable[[], Awaitable[None]]


class Breaker(Protocol):
    """The limits' view of the shared store's health (`Ledger`)."""

    @property
    def store_healthy(self) -> bool: ...

    def failed(self, exc: Exception) -> None: ...


class ReportWrites:
    def __init__(
        self,
        *,
        breaker: Breaker | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        close_seconds: float = CLOSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.skipped = 0
        self._breaker = breaker
        self._max = max_in_flight
        self._close_seconds = close_seconds
        self._clock = clock
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._warning = OncePer(60.0)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def start(self, write: Write, failure: str) -> None:
        """Run `write` in the background; `failure` is what the log says when it fails."""
        if self._closing:
            self._skip(failure, "the app is shutting down")
        elif len(self._tasks) >= self._max:
            self._skip(failure, f"{self._max} report writes are already waiting for the store")
        elif self._breaker is not None and not self._breaker.store_healthy:
            self._skip(failure, "the store is unavailable")
        else:
            task = asyncio.get_running_loop().create_task(self._run(write, failure))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Until every write under way has ended (each ends at the latest by the store's own
        timeout)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self) -> None:
        """Let the writes under way finish within the deadline; cancel the rest."""
        self._closing = True
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=self._close_seconds)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            log.warning("%d report writes were given up at shutdown", len(late))

    async def _run(self, write: Write, failure: str) -> None:
        try:
            await write()
        except StoreUnavailable as exc:
            if self._breaker is not None and not isinstance(exc, RecordBusy):
                self._breaker.failed(exc)
            log.warning("%s: %s", failure, type(exc).__name__)
        except Exception as exc:  # a count is not worth an answer: whatever the store raised
            log.warning("%s: %s", failure, type(exc).__name__)

    def _skip(self, failure: str, why: str) -> None:
        self.skipped += 1
        if self._warning.due(self._clock()):
            log.warning("%s (%s; %d skipped so far)", failure, why, self.skipped)
