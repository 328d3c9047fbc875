"""The limits around one answer: requests per minute and tokens per day for each client and for
its network (IPv4 /24, IPv6 /48), the share of the app's daily budget one network may take, the
app's daily token budget, answers in flight in this process, and a deadline for the whole answer.

Every answer that reaches the model is charged. `guard` reserves the answer's most possible
cost when it admits it (the prompt's estimate plus the output cap) against the client, its
network and the app's budget, and refuses it when that does not fit; when the answer ends it
settles the reservation to what was spent (the model's usage, or an estimate when the stream was
cut or the client left: `answer.Spending`). A reservation is added and checked in one step per
record, so answers admitted together never overshoot a limit by more than they reserved.

Before the answer: at most one round trip to the counter store (the client's and the network's
records, at once), waited for at most a small bound (`ledger.py`); the app's budget is checked
in this process (`budget.py`). After it: the settlement is queued and written in the
background. Nothing happens per chunk but a length count (`answer.py`).

Windows: requests are counted per clock minute, tokens per UTC day; Retry-After says when the
period turns.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass

from chat_api import errors
from chat_api.errors import ChatError
from chat_api.events import End, Event, Failure, TextDelta, close_events
from chat_api.limits.answer import Spending, prompt_tokens, within_deadline
from chat_api.limits.budget import AppBudget
from chat_api.limits.callers import CallerWatch
from chat_api.limits.client import Caller, identify
from chat_api.limits.counts import Delta
from chat_api.limits.ledger import Ledger, Record
from chat_api.limits.rows import Rows, day_of
from chat_api.limits.store import CounterStore, Counts, MemoryStore
from chat_api.protocol import ChatRequest
from chat_api.usage import CallTally, total_tokens

_MAX_BLOCKED = 50_000
# A client refused is refused again from memory for at most this long (its reservations in
# flight may settle lower, which can make room before the day turns).
_BLOCK_SECONDS = 60.0
# The limits a request can be over.
MINUTE, DAY, BUDGET = "requests per minute", "tokens per day", "daily budget"
NETWORK = "network "  # the same limits, of a client's network


@dataclass(frozen=True, slots=True)
class Quotas:
    """The limits; 0 turns one off."""

    requests_per_minute: int = 0
    tokens_per_day: int = 0
    daily_budget: int = 0
    max_concurrent: int = 0
    answer_timeout_seconds: float = 0.0
    # What an answer's prompt is assumed to be at most: the prompt budget.
    prompt_budget_tokens: int = 0
    # Every answer's output cap: reserved at admission with the prompt.
    output_cap_tokens: int = 0
    # A reasoning model thinks unseen: an answer cut before its usage is charged its whole cap.
    reasoning: bool = False
    network_requests_per_minute: int = 0
    network_tokens_per_day: int = 0
    network_budget_share: float = 0.0

    @property
    def network_tokens(self) -> int:
        """The tokens one network may use per day: its own limit and its share of the budget."""
        share = int(self.network_budget_share * self.daily_budget)
        caps = [c for c in (self.network_tokens_per_day, share) if c > 0]
        return min(caps) if caps else 0


@dataclass(slots=True)
class _Ticket:
    """An admitted answer's reservation: where it was added, and how much."""

    day: str
    records: tuple[Record, ...]
    tokens: int


class Limiter:
    def __init__(
        self,
        quotas: Quotas,
        store: CounterStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rows: Rows | None = None,
        header: str = "",
        signal: Callable[[str], None] = lambda _: None,
        ledger: Ledger | None = None,
    ) -> None:
        self.quotas = quotas
        # The in-process store needs no fallback: it is the fallback.
        shared = None if store is None or type(store) is MemoryStore else store
        self.ledger = ledger or Ledger(shared, on_failure=lambda: signal("store_unavailable"))
        self._rows = rows or Rows()
        self._clock = clock
        self._watch = CallerWatch(header, signal)
        self._budget = AppBudget(
            quotas.daily_budget, self.ledger, self._rows, signal=signal, clock=clock
        )
        self._in_flight = 0
        # Clients and networks refused until a moment: refused again without a round trip.
        self._blocked: OrderedDict[str, tuple[float, str, float]] = OrderedDict()
        self._charging = bool(quotas.tokens_per_day or quotas.daily_budget or quotas.network_tokens)
        self._counting = self._charging or bool(
            quotas.requests_per_minute or quotas.network_requests_per_minute
        )
        self._networks = bool(quotas.network_requests_per_minute or quotas.network_tokens)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def aclose(self) -> None:
        await self._budget.aclose()
        await self.ledger.aclose()

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
        caller = identify(address)
        self._watch.saw(caller)
        prompt = prompt_tokens(request, quotas.prompt_budget_tokens) if self._charging else 0
        spent = Spending()
        ticket: _Ticket | None = None
        try:
            ticket, refusal = await self._admit(caller, prompt + quotas.output_cap_tokens)
            if refusal is not None:
                await close_events(events)
                yield Failure(refusal, ref())
                return
            if quotas.answer_timeout_seconds:
                events = within_deadline(events, quotas.answer_timeout_seconds, ref)
            async for event in events:
                if type(event) is TextDelta:
                    spent.chars += len(event.text)
                elif type(event) is End:
                    spent.usage = total_tokens(event.usage)
                elif type(event) is Failure and event.error.code != errors.Code.TIMEOUT:
                    spent.failed = True
                yield event
        finally:
            self._in_flight -= 1
            if ticket is not None:
                unseen = quotas.output_cap_tokens if quotas.reasoning else 0
                used = spent.tokens(prompt, unseen) + (calls.tokens if calls is not None else 0)
                self._settle(ticket, used)

    def count_refused_request(self, address: str | None) -> ChatError | None:
        """A request refused before any answer (invalid, or over a size limit) still counts
        against its client's requests per minute; the refusal to give instead when the client
        is over it."""
        caller = identify(address)
        now = self._clock()
        refusal = self._blocked_refusal(caller, now)
        if refusal is not None or not self.quotas.requests_per_minute:
            return refusal
        record = self._rows.counted(day_of(now), caller.key)
        counts = self.ledger.add(record, Delta(0, 1, int(now // 60)))
        if counts.get("requests", 0) > self.quotas.requests_per_minute:
            return self._refuse(caller.key, MINUTE, (now // 60 + 1) * 60, now)
        return None

    # ---- Before: admission ---------------------------------------------------------------------

    async def admit(self, address: str | None) -> ChatError | None:
        """Count a request that is not an answer (a rating of one) against its client's and its
        network's limits, reserving no tokens; the refusal when one of them is over a limit."""
        caller = identify(address)
        self._watch.saw(caller)
        _, refusal = await self._admit(caller, 0)
        return refusal

    async def _admit(self, caller: Caller, cost: int) -> tuple[_Ticket | None, ChatError | None]:
        now = self._clock()
        refusal = self._blocked_refusal(caller, now)
        if refusal is not None:
            return None, refusal
        if not self._counting:
            return None, None
        day = day_of(now)
        tokens = cost if self._charging else 0
        budget = self._budget
        budget.see_day(day)
        # The app's budget: checked and reserved in one step, in this process.
        if budget.budget and budget.total(day) + tokens > budget.budget:
            return None, _refusal(BUDGET, _next_midnight(now) - now)
        budget.add(day, tokens)
        rows = self._rows
        records: tuple[Record, ...] = (rows.counted(day, caller.key),)
        if self._networks:
            records += (rows.counted(day, caller.network),)
        delta = Delta(tokens, 1, int(now // 60))
        counts = await self.ledger.apply(records, [delta] * len(records))
        over = self._judge(counts, now)
        if over is None:
            return _Ticket(day, records, tokens), None
        who, kind, until = over
        if tokens:  # the reservation is given back; the request itself stays counted
            for record in records:
                self.ledger.add(record, Delta(-tokens))
            budget.add(day, -tokens)
        key = caller.network if who == "network" else caller.key
        return None, self._refuse(key, kind, until, now)

    def _judge(self, counts: list[Counts], now: float) -> tuple[str, str, float] | None:
        """Which limit, of the client (`counts[0]`) or its network, the request is over, if
        any, and when that limit's period turns."""
        quotas = self.quotas
        client = counts[0]
        if quotas.tokens_per_day and client.get("tokens", 0) > quotas.tokens_per_day:
            return "client", DAY, _next_midnight(now)
        if quotas.requests_per_minute and client.get("requests", 0) > quotas.requests_per_minute:
            return "client", MINUTE, (now // 60 + 1) * 60
        if len(counts) < 2:
            return None
        network = counts[1]
        if quotas.network_tokens and network.get("tokens", 0) > quotas.network_tokens:
            return "network", NETWORK + DAY, _next_midnight(now)
        limit = quotas.network_requests_per_minute
        if limit and network.get("requests", 0) > limit:
            return "network", NETWORK + MINUTE, (now // 60 + 1) * 60
        return None

    def _blocked_refusal(self, caller: Caller, now: float) -> ChatError | None:
        for key in (caller.key, caller.network):
            blocked = self._blocked.get(key)
            if blocked is not None:
                if now < blocked[0]:
                    return _refusal(blocked[1], blocked[2] - now)
                del self._blocked[key]
        return None

    def _refuse(self, key: str, kind: str, until: float, now: float) -> ChatError:
        self._blocked[key] = (min(until, now + _BLOCK_SECONDS), kind, until)
        if len(self._blocked) > _MAX_BLOCKED:
            self._blocked.popitem(last=False)
        return _refusal(kind, until - now)

    # ---- After: settling the reservation --------------------------------------------------------

    def _settle(self, ticket: _Ticket, used: int) -> None:
        change = used - ticket.tokens
        if not change or not self._charging:
            return
        delta = Delta(change)
        for record in ticket.records:
            self.ledger.add(record, delta)
        self._budget.add(ticket.day, change)


def _refusal(kind: str, seconds: float) -> ChatError:
    wait = _seconds(seconds)
    if kind == BUDGET:
        return errors.budget_exhausted(wait)
    return errors.client_rate_limited(
        wait, daily=kind.endswith(DAY), network=kind.startswith(NETWORK)
    )


def _next_midnight(now: float) -> float:
    return (now // 86_400 + 1) * 86_400


def _seconds(seconds: float) -> int:
    return max(1, int(seconds + 0.999))
