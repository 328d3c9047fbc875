"""The limits' counts: in this process, and in the shared store when there is one, kept so that a
sick store never slows an answer.

- Every count is kept in this process too (`MemoryStore`): with no shared store it is the only
  one, and every update is synchronous (no await, no task: the hot path of every answer).
- An admission (`apply`) waits for the shared store at most `wait_seconds`; past that, or when
  the store fails, the counts go on in this process, and the store is left alone for
  `open_seconds` (a circuit breaker) before it is tried again.
- Whatever could not be written, and every update after an answer (`add`), waits in a queue of
  pending deltas, one per record: a record's later updates merge into the one waiting, so the
  queue holds at most one entry per record, and at most `max_pending` records (past that, an
  update is kept in this process only, and counted in `dropped`). One background task writes
  the queue out while the store is healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial

from chat_api.limits.counts import Delta
from chat_api.limits.store import (
    CounterStore,
    Counts,
    MemoryStore,
    RecordBusy,
    StoreUnavailable,
)
from chat_api.process import OncePer

log = logging.getLogger("chat_api.limits.limiter")

Record = tuple[str, str]  # (partition, row)
_WRITES_AT_ONCE = 32


class Ledger:
    def __init__(
        self,
        shared: CounterStore | None = None,
        *,
        wait_seconds: float = 0.3,
        open_seconds: float = 30.0,
        max_pending: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self.local = MemoryStore()
        self.shared = shared
        self.dropped = 0
        self._wait = wait_seconds
        self._open = open_seconds
        self._max_pending = max_pending
        self._clock = clock
        self._on_failure = on_failure
        self._retry_at = 0.0
        self._warning = OncePer(60.0)
        self._pending: dict[Record, Delta] = {}
        self._writer: asyncio.Task[None] | None = None
        self._late: set[asyncio.Task[Counts]] = set()
        self._wake = asyncio.Event()

    @property
    def pending(self) -> int:
        """How many records have updates waiting for the shared store."""
        return len(self._pending)

    @property
    def store_healthy(self) -> bool:
        return self.shared is not None and self._clock() >= self._retry_at

    async def apply(self, records: Sequence[Record], deltas: Sequence[Delta]) -> list[Counts]:
        """Apply each delta to its record and return the records' counts: the shared store's
        when it answers within the wait, else this process's. A write still under way when
        the wait is over is left to finish (cancelling it could lose a count the store has
        taken, or count one twice); its result lands in this process's copy when it comes."""
        shared = self.shared
        pairs = list(zip(records, deltas, strict=True))
        if shared is None or not self.store_healthy:
            return [self.add(record, delta) for record, delta in pairs]
        loop = asyncio.get_running_loop()
        writes = [loop.create_task(shared.update(p, r, d)) for (p, r), d in pairs]
        await asyncio.wait(writes, timeout=self._wait)
        counts: list[Counts] = []
        for (record, delta), write in zip(pairs, writes, strict=True):
            if write.done():
                counts.append(self._settled(record, delta, write))
                continue
            self.failed(StoreUnavailable(f"no answer within {self._wait} s"))
            write.add_done_callback(partial(self._settled, record, delta))
            self._late.add(write)
            write.add_done_callback(self._late.discard)
            counts.append(delta(dict(self.local.peek(*record))))
        return counts

    def _settled(self, record: Record, delta: Delta, write: asyncio.Task[Counts]) -> Counts:
        """A write's outcome in this process: the store's counts, or the delta counted here
        and queued for the store when the write failed."""
        if write.cancelled():
            return self.add(record, delta)
        error = write.exception()
        if error is None:
            return self._mirror(record, write.result())
        if not isinstance(error, StoreUnavailable):
            raise error
        if not isinstance(error, RecordBusy):
            self.failed(error)
        return self.add(record, delta)

    def add(self, record: Record, delta: Delta) -> Counts:
        """Apply the delta here at once, and to the shared store in the background."""
        counts = self.local.update_now(record[0], record[1], delta)
        if self.shared is not None:
            self._queue(record, delta)
        return counts

    async def read_partition(self, partition: str) -> dict[str, Counts] | None:
        """Every record of a partition, from the shared store; None when it cannot say."""
        if self.shared is None or not self.store_healthy:
            return None
        try:
            async with asyncio.timeout(self._wait * 4):
                return await self.shared.read_partition(partition)
        except (StoreUnavailable, TimeoutError) as exc:
            self.failed(exc)
            return None

    def failed(self, exc: Exception) -> None:
        """The shared store failed: leave it alone for a while, and say so once a minute."""
        now = self._clock()
        self._retry_at = now + self._open
        self._on_failure()
        if self._warning.due(now):
            log.warning(
                "the limits store is unavailable (%s); limiting in this process only, "
                "trying again in %.0f s",
                exc or type(exc).__name__,
                self._open,
            )

    async def aclose(self, last_try_seconds: float = 5.0) -> None:
        """Write what is pending (one last try, however the store was), then close it."""
        if self._late:
            await asyncio.wait(self._late)
        if self.shared is not None and self._pending:
            self._retry_at = 0.0
            self._wake.set()  # a writer waiting for the breaker goes now
            if self._writer is None or self._writer.done():
                self._writer = asyncio.get_running_loop().create_task(self._write_pending())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(last_try_seconds):
                    await asyncio.shield(self._writer)
        if self._writer is not None:
            self._writer.cancel()
        if self.shared is not None:
            await self.shared.aclose()

    # ---- The queue of pending updates ------------------------------------------------------

    def _queue(self, record: Record, delta: Delta) -> None:
        waiting = self._pending.get(record)
        if waiting is not None:
            waiting.merge(delta)
        elif len(self._pending) >= self._max_pending:
            self.dropped += 1
        else:
            self._pending[record] = Delta(delta.tokens, delta.requests, delta.minute)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending:
            wait = self._retry_at - self._clock()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            batch = list(self._pending.items())[:_WRITES_AT_ONCE]
            for record, _ in batch:
                del self._pending[record]
            await asyncio.gather(*(self._write(record, delta) for record, delta in batch))

    async def _write(self, record: Record, delta: Delta) -> None:
        assert self.shared is not None
        try:
            counts = await self.shared.update(record[0], record[1], delta)
        except StoreUnavailable as exc:
            if not isinstance(exc, RecordBusy):
                self.failed(exc)
            newer = self._pending.get(record)
            if newer is not None:
                delta.merge(newer)
            self._pending[record] = delta  # ahead of the bound: it was counted in before
            return
        self._mirror(record, counts)

    def _mirror(self, record: Record, counts: Counts) -> Counts:
        """This process's copy of a record: the store's counts, and what still waits for it."""
        mine = dict(counts)
        waiting = self._pending.get(record)
        if waiting is not None:
            mine = waiting(mine)
        self.local.update_now(record[0], record[1], lambda _: mine)
        return counts
