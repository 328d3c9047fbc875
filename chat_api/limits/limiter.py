"""The limits around one answer: per-client requests per minute and tokens per day, the app's
daily token budget, answers in flight in this process, and a deadline for the whole answer.

`guard` wraps the pipeline's events. Before the answer it makes at most one round trip to the
counter store (the client's record; the app's record is read in the same round trip only when
this process has not seen it for a while); after the answer it makes one more (adding the tokens
spent to the client's and the app's records, both at once, in the background). Nothing happens
per chunk but a length count (that tally, and the answer's deadline: `answer.py`).

Windows: requests are counted per clock minute, tokens per UTC day; both reset when the period
turns, and Retry-After says when that is. When the shared store fails, the same counts are kept
in this process (each instance then limits on its own) and the failure is logged once a minute.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass

from chat_api import errors
from chat_api.errors import ChatError
from chat_api.events import End, Event, Failure, TextDelta, close_events
from chat_api.limits.answer import Spending, within_deadline
from chat_api.limits.client import client_key
from chat_api.limits.store import Change, CounterStore, Counts, MemoryStore, StoreUnavailable
from chat_api.protocol import ChatRequest
from chat_api.usage import CallTally, total_tokens

log = logging.getLogger(__name__)

APP_ROW = "app"
# How long this process trusts the app's total without reading it again (it is refreshed on
# every answer's update as well).
APP_TOTAL_FRESH_SECONDS = 30.0
_LOG_EVERY_SECONDS = 60.0
_MAX_BLOCKED = 50_000
# The limits a request can be over.
MINUTE, DAY, BUDGET = "requests per minute", "tokens per day", "daily budget"


@dataclass(frozen=True, slots=True)
class Quotas:
    """The limits; 0 turns one off."""

    requests_per_minute: int = 0
    tokens_per_day: int = 0
    daily_budget: int = 0
    max_concurrent: int = 0
    answer_timeout_seconds: float = 0.0
    # What an answer without usage figures is assumed to have read: the prompt budget.
    prompt_budget_tokens: int = 0


class Limiter:
    def __init__(
        self,
        quotas: Quotas,
        store: CounterStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.quotas = quotas
        self._local = MemoryStore()
        # The in-process store needs no fallback: it is the fallback.
        self._shared = None if store is None or type(store) is MemoryStore else store
        self._clock = clock
        self._in_flight = 0
        # Clients refused until a moment: refused again without a store round trip.
        self._blocked: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._app_tokens = 0
        self._app_seen: tuple[str, float] = ("", 0.0)
        self._last_store_log = -_LOG_EVERY_SECONDS
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._shared is not None:
            await self._shared.aclose()

    # ---- Around one answer ---------------------------------------------------------------------

    async def guard(
        self,
        address: str | None,
        request: ChatRequest,
        events: AsyncIterator[Event],
        ref: Callable[[], str] = str,  # by default, no reference ("")
        calls: CallTally | None = None,
    ) -> AsyncGenerator[Event, None]:
        """The answer's events within the limits: a refusal is a Failure as the first event
        (so it gets its own status), a deadline passed ends the answer with a `timeout`
        Failure, and the tokens spent are counted however the answer ends: the streamed
        answer's, and those of the model calls before it (`calls`, the pipeline's tally).
        `ref()` is the request's reference, which those Failures carry (asked for only when
        one is made)."""
        quotas = self.quotas
        if quotas.max_concurrent and self._in_flight >= quotas.max_concurrent:
            await close_events(events)
            yield Failure(errors.busy(), ref())
            return
        self._in_flight += 1
        key = client_key(address)
        spent = Spending()
        admitted = False
        try:
            refusal = await self._admit(key)
            if refusal is not None:
                await close_events(events)
                yield Failure(refusal, ref())
                return
            admitted = True
            if quotas.answer_timeout_seconds:
                events = within_deadline(events, quotas.answer_timeout_seconds, ref)
            async for event in events:
                if type(event) is TextDelta:
                    spent.chars += len(event.text)
                elif type(event) is End:
                    spent.usage = total_tokens(event.usage)
                yield event
        finally:
            self._in_flight -= 1
            if admitted:
                before = calls.tokens if calls is not None else 0
                self._record(key, before + spent.tokens(request, quotas.prompt_budget_tokens))

    # ---- Before: admission ---------------------------------------------------------------------

    async def admit(self, address: str | None) -> ChatError | None:
        """Count a request that is not an answer (a rating of one) against its client's limits,
        as an answer's is counted; the refusal when the client is over one."""
        return await self._admit(client_key(address))

    async def _admit(self, key: str) -> ChatError | None:
        now = self._clock()
        blocked = self._blocked.get(key)
        if blocked is not None:
            if now < blocked[0]:
                return _refusal(blocked[1], blocked[0] - now)
            del self._blocked[key]
        quotas = self.quotas
        if not (quotas.requests_per_minute or quotas.tokens_per_day or quotas.daily_budget):
            return None
        day = _day(now)
        minute = int(now // 60)
        counted = _count_request(minute)
        if quotas.daily_budget and (
            self._app_seen[0] != day or now - self._app_seen[1] > APP_TOTAL_FRESH_SECONDS
        ):
            client, app = await asyncio.gather(
                self._update(day, key, counted), self._read(day, APP_ROW)
            )
            self._learn_app_total(day, now, app.get("tokens", 0))
        else:
            client = await self._update(day, key, counted)
        refusal = self._judge(client, now)
        if refusal is None:
            return None
        kind, until = refusal
        self._block(key, until, kind)
        return _refusal(kind, until - now)

    def _judge(self, client: Counts, now: float) -> tuple[str, float] | None:
        """Which limit the client is over, if any, and when that limit's period turns."""
        quotas = self.quotas
        if quotas.daily_budget and self._app_tokens >= quotas.daily_budget:
            return BUDGET, _next_midnight(now)
        if quotas.tokens_per_day and client.get("tokens", 0) >= quotas.tokens_per_day:
            return DAY, _next_midnight(now)
        if quotas.requests_per_minute and client.get("requests", 0) > quotas.requests_per_minute:
            return MINUTE, (now // 60 + 1) * 60
        return None

    def _block(self, key: str, until: float, kind: str) -> None:
        self._blocked[key] = (until, kind)
        if len(self._blocked) > _MAX_BLOCKED:
            self._blocked.popitem(last=False)

    def _learn_app_total(self, day: str, now: float, tokens: int) -> None:
        self._app_tokens = tokens
        self._app_seen = (day, now)

    # ---- After: counting what was spent ----------------------------------------------------------

    def _record(self, key: str, tokens: int) -> None:
        quotas = self.quotas
        if not tokens or not (quotas.tokens_per_day or quotas.daily_budget):
            return
        now = self._clock()
        day = _day(now)
        add = _add_tokens(tokens)
        if self._shared is None:
            # In-process: no await, no task (the hot path of every answer).
            self._local.update_now(day, key, add)
            app = self._local.update_now(day, APP_ROW, add)
            self._learn_app_total(day, now, app.get("tokens", 0))
            return
        task = asyncio.get_running_loop().create_task(self._record_shared(day, key, add))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record_shared(self, day: str, key: str, add: Change) -> None:
        _, app = await asyncio.gather(self._update(day, key, add), self._update(day, APP_ROW, add))
        self._learn_app_total(day, self._clock(), app.get("tokens", 0))

    # ---- The store, with the in-process fallback ---------------------------------------------

    async def _update(self, partition: str, row: str, change: Change) -> Counts:
        if self._shared is not None:
            try:
                counts = await self._shared.update(partition, row, change)
            except StoreUnavailable as exc:
                self._store_failed(exc)
            else:
                self._local.update_now(partition, row, lambda _: dict(counts))
                return counts
        return self._local.update_now(partition, row, change)

    async def _read(self, partition: str, row: str) -> Counts:
        if self._shared is not None:
            try:
                return await self._shared.read(partition, row)
            except StoreUnavailable as exc:
                self._store_failed(exc)
        return await self._local.read(partition, row)

    def _store_failed(self, exc: StoreUnavailable) -> None:
        now = time.monotonic()
        if now - self._last_store_log >= _LOG_EVERY_SECONDS:
            self._last_store_log = now
            log.warning("the limits store is unavailable (%s); limiting in this process only", exc)


def _count_request(minute: int) -> Change:
    def change(counts: Counts) -> Counts:
        if counts.get("minute") != minute:
            counts["minute"] = minute
            counts["requests"] = 0
        counts["requests"] = counts.get("requests", 0) + 1
        return counts

    return change


def _add_tokens(tokens: int) -> Change:
    def change(counts: Counts) -> Counts:
        counts["tokens"] = counts.get("tokens", 0) + tokens
        return counts

    return change


def _refusal(kind: str, seconds: float) -> ChatError:
    wait = _seconds(seconds)
    if kind == BUDGET:
        return errors.budget_exhausted(wait)
    return errors.client_rate_limited(wait, daily=kind == DAY)


def _day(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%d")


def _next_midnight(now: float) -> float:
    return (now // 86_400 + 1) * 86_400


def _seconds(seconds: float) -> int:
    return max(1, int(seconds + 0.999))
