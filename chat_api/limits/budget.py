"""The app's daily token budget, shared by every instance, and the store's daily clean-up.

The total is this process's own row (exact: every reservation and settlement is added to it
here first, synchronously) plus the rows of the other instances as last read (one query of the
day's app partition, refreshed in the background every `FRESH_SECONDS`, never awaited by an
admission). So answers admitted in this process never together overshoot the budget by more
than they reserved, and answers admitted elsewhere can add at most what those instances reserved
in the last `FRESH_SECONDS` before this one sees them.

At 80% of the budget a WARNING is logged (once a day per process) and counted in the
`chat.limits.signals` metric; infra/ carries the alert rule on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from chat_api.limits.counts import Delta
from chat_api.limits.ledger import Ledger
from chat_api.limits.rows import Rows, app_partition, oldest_kept
from chat_api.limits.store import StoreUnavailable

log = logging.getLogger("chat_api.limits.limiter")

FRESH_SECONDS = 10.0
ALERT_SHARE = 0.8


class AppBudget:
    def __init__(
        self,
        budget: int,
        ledger: Ledger,
        rows: Rows,
        *,
        signal: Callable[[str], None],
        clock: Callable[[], float],
    ) -> None:
        self.budget = budget
        self._ledger = ledger
        self._rows = rows
        self._signal = signal
        self._clock = clock
        self._day = ""
        self._others = 0
        self._read_at = -FRESH_SECONDS
        self._alerted = ""
        self._tasks: set[asyncio.Task[None]] = set()

    def total(self, day: str) -> int:
        """The app's tokens on a day, as far as this process knows."""
        self.see_day(day)
        partition, row = self._rows.app(day)
        mine = self._ledger.local.peek(partition, row).get("tokens", 0)
        return mine + self._others

    def add(self, day: str, tokens: int) -> None:
        if not tokens:
            return
        self._ledger.add(self._rows.app(day), Delta(tokens))
        if tokens > 0 and self.budget and self._alerted != day:
            total = self.total(day)
            if total >= ALERT_SHARE * self.budget:
                self._alerted = day
                self._signal("budget_80_percent")
                log.warning(
                    "the app has used %d%% of its daily token budget (%d of %d tokens); at 100%% "
                    "every client is refused until midnight UTC",
                    100 * total // self.budget,
                    total,
                    self.budget,
                )

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def see_day(self, day: str) -> None:
        """A new day: forget the other instances' rows, and clean old days out of the store;
        and read the other instances' rows when the last reading is stale."""
        if day != self._day:
            self._day, self._others, self._read_at = day, 0, -FRESH_SECONDS
            self._start(self._delete_old_days())
        shared = self._ledger.shared
        if self.budget and shared is not None and self._clock() - self._read_at >= FRESH_SECONDS:
            self._read_at = self._clock()
            self._start(self._read_others(day))

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no loop: counted synchronously, nothing to read or clean
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_others(self, day: str) -> None:
        rows = await self._ledger.read_partition(app_partition(day))
        if rows is None or day != self._day:
            return
        mine = self._rows.app(day)[1]
        self._others = sum(c.get("tokens", 0) for row, c in rows.items() if row != mine)

    async def _delete_old_days(self) -> None:
        first_kept = oldest_kept(self._clock())
        await self._ledger.local.delete_before(first_kept)
        shared = self._ledger.shared
        if shared is None or not self._ledger.store_healthy:
            return
        try:
            deleted = await shared.delete_before(first_kept)
        except StoreUnavailable as exc:
            self._ledger.failed(exc)
            return
        if deleted:
            log.info("deleted %d limits records of days before %s", deleted, first_kept)
