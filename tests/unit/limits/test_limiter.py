"""The limiter around one answer, over the in-process store, with a clock the tests move."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from chat_api import errors
from chat_api.events import End, Event, Failure, Step, TextDelta
from chat_api.limits import Limiter, MemoryStore, Quotas, StoreUnavailable
from chat_api.limits.store import Change, Counts
from chat_api.protocol import ChatRequest
from chat_api.usage import CallTally

# 2026-11-30 12:00:10 UTC: 10 s into a minute, 43,190 s before midnight UTC.
NOON = 1_796_040_010.0


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _request(text: str = "What is NDJSON?") -> ChatRequest:
    return ChatRequest.model_validate({"messages": [{"role": "user", "content": text}]})


async def _answer(usage: dict | None = None, words: int = 3) -> AsyncIterator[Event]:
    yield Step("Question received")
    for index in range(words):
        yield TextDelta(f" word{index}")
    yield End("stop", usage if usage is not None else {"total_tokens": 30})


async def _run(limiter: Limiter, address: str | None = "203.0.113.5", **answer) -> list[Event]:
    return [e async for e in limiter.guard(address, _request(), _answer(**answer))]


def _failure(events: list[Event]) -> Failure | None:
    return events[0] if events and isinstance(events[0], Failure) else None


async def test_a_client_over_its_requests_per_minute_is_refused_until_the_minute_turns():
    limiter = Limiter(Quotas(requests_per_minute=2), clock=Clock())

    answers = [await _run(limiter) for _ in range(3)]

    assert _failure(answers[0]) is None
    assert _failure(answers[1]) is None
    refused = _failure(answers[2])
    assert refused is not None
    assert (refused.error.status, refused.error.code) == (429, "rate_limited")
    assert refused.error.retry_after == 50  # the minute turns 50 s from now


async def test_the_next_minute_lets_the_client_in_again():
    clock = Clock()
    limiter = Limiter(Quotas(requests_per_minute=1), clock=clock)
    await _run(limiter)
    assert _failure(await _run(limiter)) is not None

    clock.now += 50

    assert _failure(await _run(limiter)) is None


async def test_one_client_over_its_limit_does_not_limit_another():
    limiter = Limiter(Quotas(requests_per_minute=1), clock=Clock())
    await _run(limiter, "203.0.113.5")
    await _run(limiter, "203.0.113.5")

    assert _failure(await _run(limiter, "198.51.100.7")) is None


async def test_the_tokens_of_the_end_usage_count_towards_the_client_daily_limit():
    clock = Clock()
    limiter = Limiter(Quotas(tokens_per_day=50), clock=clock)
    await _run(limiter, usage={"total_tokens": 30})
    await _run(limiter, usage={"input_tokens": 15, "output_tokens": 10})

    refused = _failure(await _run(limiter))

    assert refused is not None
    assert refused.error.code == "rate_limited"
    assert refused.error.retry_after == 43_190  # until midnight UTC
    assert "tokens for today" in refused.error.message
    clock.now += 43_190
    assert _failure(await _run(limiter)) is None  # a new day


async def test_an_answer_without_usage_counts_an_estimate_of_prompt_and_text():
    limiter = Limiter(Quotas(tokens_per_day=10), clock=Clock())

    await _run(limiter, usage={}, words=3)

    assert _failure(await _run(limiter)) is not None  # the estimate (prompt + text) is over 10


async def test_an_answer_cut_before_its_end_still_counts_its_tokens():
    limiter = Limiter(Quotas(tokens_per_day=5), clock=Clock())
    guarded = limiter.guard("203.0.113.5", _request(), _answer(words=40))
    async for event in guarded:
        if isinstance(event, TextDelta):
            break
    await guarded.aclose()  # the client left after the first words

    assert _failure(await _run(limiter)) is not None


async def test_the_model_calls_before_the_answer_count_with_it():
    limiter = Limiter(Quotas(tokens_per_day=50), clock=Clock())
    calls = CallTally()
    calls.tokens = 25  # the search query and the embedding the pipeline counted
    answer = _answer(usage={"total_tokens": 30})
    [e async for e in limiter.guard("203.0.113.5", _request(), answer, calls=calls)]

    assert _failure(await _run(limiter)) is not None  # 25 + 30 is over 50


async def test_the_model_calls_before_an_answer_that_failed_still_count():
    limiter = Limiter(Quotas(tokens_per_day=50), clock=Clock())
    calls = CallTally()
    calls.tokens = 60

    async def failed() -> AsyncIterator[Event]:
        yield Step("Question received")
        yield Failure(errors.error(errors.Code.MODEL_UNAVAILABLE))

    [e async for e in limiter.guard("203.0.113.5", _request(), failed(), calls=calls)]

    assert _failure(await _run(limiter)) is not None


async def test_a_spent_daily_budget_refuses_every_client_with_its_own_code_until_midnight():
    limiter = Limiter(Quotas(daily_budget=40), clock=Clock())
    await _run(limiter, "203.0.113.5", usage={"total_tokens": 30})
    await _run(limiter, "198.51.100.7", usage={"total_tokens": 30})

    refused = _failure(await _run(limiter, "192.0.2.1"))

    assert refused is not None
    assert (refused.error.status, refused.error.code) == (429, "budget_exhausted")
    assert refused.error.retry_after == 43_190
    assert "midnight UTC" in refused.error.message


async def test_answers_over_the_in_flight_cap_get_503_busy_at_once():
    limiter = Limiter(Quotas(max_concurrent=1), clock=Clock())
    first = limiter.guard("203.0.113.5", _request(), _answer())
    assert isinstance(await anext(first), Step)  # one answer in flight

    refused = _failure(await _run(limiter, "198.51.100.7"))

    assert refused is not None
    assert (refused.error.status, refused.error.code, refused.error.retry_after) == (
        503,
        "busy",
        1,
    )
    await first.aclose()
    assert limiter.in_flight == 0
    assert _failure(await _run(limiter)) is None


async def test_limits_set_to_zero_are_off():
    limiter = Limiter(Quotas(), clock=Clock())

    answers = [await _run(limiter, usage={"total_tokens": 10**9}) for _ in range(50)]

    assert not any(_failure(a) for a in answers)


async def test_a_refused_client_is_refused_again_without_asking_the_store():
    store = CountingStore()
    limiter = Limiter(Quotas(requests_per_minute=1), store, clock=Clock())
    await _run(limiter)
    await _run(limiter)
    calls = store.updates

    for _ in range(20):
        assert _failure(await _run(limiter)) is not None

    assert store.updates == calls


async def test_one_store_round_trip_before_an_answer_and_its_settlement_after():
    store = CountingStore()
    quotas = Quotas(requests_per_minute=5, tokens_per_day=1000, network_requests_per_minute=50)
    limiter = Limiter(quotas, store, clock=Clock())

    guarded = limiter.guard("203.0.113.5", _request(), _answer())
    await anext(guarded)  # admitted: the client's and its network's records, at once
    before = list(store.log)
    [e async for e in guarded]
    await limiter.aclose()

    assert before.count("update counted") == 2
    # After, in the background: the settlement of the client and its network, and this
    # process's share of the app's total (its reservation and settlement, merged when they
    # meet in the queue). Nothing per chunk.
    assert store.log.count("update counted") == 4
    assert 1 <= store.log.count("update app") <= 2


async def test_a_failing_store_falls_back_to_counts_in_this_process_and_logs_once_a_minute(
    caplog: pytest.LogCaptureFixture,
):
    limiter = Limiter(Quotas(requests_per_minute=2), FailingStore(), clock=Clock())

    with caplog.at_level(logging.WARNING, logger="chat_api.limits.limiter"):
        answers = [await _run(limiter) for _ in range(3)]

    assert [bool(_failure(a)) for a in answers] == [False, False, True]
    warnings = [r for r in caplog.records if "limits store is unavailable" in r.getMessage()]
    assert len(warnings) == 1


async def test_the_deadline_ends_a_slow_answer_with_a_timeout_failure():
    closed = asyncio.Event()

    async def slow() -> AsyncIterator[Event]:
        try:
            yield Step("Question received")
            await asyncio.sleep(30)
            yield TextDelta("never")
        finally:
            closed.set()

    limiter = Limiter(Quotas(answer_timeout_seconds=0.2), clock=Clock())

    events = [e async for e in limiter.guard("203.0.113.5", _request(), slow())]

    assert isinstance(events[0], Step)
    assert isinstance(events[-1], Failure)
    assert (events[-1].error.status, events[-1].error.code) == (504, "timeout")
    assert closed.is_set()  # the pipeline (and its model call) was closed
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_the_deadline_never_cancels_the_consumer_while_it_sends_a_line():
    async def quick() -> AsyncIterator[Event]:
        yield TextDelta("one")
        yield End("stop", {"total_tokens": 3})

    limiter = Limiter(Quotas(answer_timeout_seconds=0.1), clock=Clock())
    seen: list[Event] = []
    async for event in limiter.guard("203.0.113.5", _request(), quick()):
        await asyncio.sleep(0.15)  # a slow client: the deadline passes while "sending"
        seen.append(event)

    assert isinstance(seen[0], TextDelta)
    assert isinstance(seen[-1], Failure)
    assert seen[-1].error.code == "timeout"


class CountingStore(MemoryStore):
    """The in-process store, presented as a shared one, recording each call."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.partitions: set[str] = set()

    @property
    def updates(self) -> int:
        return len(self.log)

    async def days_kept(self) -> set[str]:
        """The days of the partitions written that still hold a record."""
        return {p[:8] for p in self.partitions if await self.read_partition(p)}

    async def aclose(self) -> None:
        return None  # the records stay, to be looked at

    async def update(self, partition: str, row: str, change: Change) -> Counts:
        self.partitions.add(partition)
        self.log.append(f"update {'app' if row.startswith('app-') else 'counted'}")
        return self.update_now(partition, row, change)

    async def read(self, partition: str, row: str) -> Counts:
        self.log.append(f"read {row}")
        return await super().read(partition, row)


class FailingStore(MemoryStore):
    name = "failing"

    async def update(self, partition: str, row: str, change: Change) -> Counts:
        raise StoreUnavailable("ConnectionRefusedError")

    async def read(self, partition: str, row: str) -> Counts:
        raise StoreUnavailable("ConnectionRefusedError")


async def test_the_first_answer_of_a_day_deletes_the_records_of_the_day_before_yesterday():
    store = CountingStore()
    clock = Clock(NOON - 3 * 86_400)
    limiter = Limiter(Quotas(requests_per_minute=5), store, clock=clock)  # no budget
    await _run(limiter)
    clock.now = NOON

    await _run(limiter)
    await limiter.aclose()

    assert await store.days_kept() == {"20261130"}


async def test_records_of_yesterday_are_kept():
    store = CountingStore()
    clock = Clock(NOON - 86_400)
    limiter = Limiter(Quotas(requests_per_minute=5), store, clock=clock)
    await _run(limiter)
    clock.now = NOON

    await _run(limiter)
    await limiter.aclose()

    assert await store.days_kept() == {"20261129", "20261130"}
