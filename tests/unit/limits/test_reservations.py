"""Every answer that reaches the model is charged: reserved at admission (its prompt's estimate
and its output cap), settled when it ends, to the model's usage or an estimate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from chat_api.events import End, Event, Failure, Step, TextDelta
from chat_api.limits import Limiter, Quotas
from chat_api.limits.answer import prompt_tokens
from chat_api.protocol import ChatRequest
from tests.unit.limits.test_limiter import Clock

REQUEST = ChatRequest.model_validate({"messages": [{"role": "user", "content": "What is it?"}]})
PROMPT = prompt_tokens(REQUEST, 0)
CAP = 100


async def _thinking(release: asyncio.Event) -> AsyncIterator[Event]:
    yield Step("Thinking", "Reading the question")
    await release.wait()
    yield TextDelta("Answer")
    yield End("stop", {"total_tokens": 30})


OPEN: list[AsyncIterator[Event]] = []  # answers left open, so their reservations stand


async def _open(limiter: Limiter, address: str, release: asyncio.Event) -> Event:
    """An answer admitted or refused: its first event."""
    guarded = limiter.guard(address, REQUEST, _thinking(release))
    OPEN.append(guarded)
    return await anext(guarded)


async def test_answers_admitted_at_once_never_together_overshoot_the_clients_day():
    limiter = Limiter(
        Quotas(tokens_per_day=5 * (PROMPT + CAP), output_cap_tokens=CAP), clock=Clock()
    )
    release = asyncio.Event()

    firsts = await asyncio.gather(*(_open(limiter, "203.0.113.5", release) for _ in range(12)))

    assert sum(not isinstance(e, Failure) for e in firsts) == 5
    assert sum(isinstance(e, Failure) and e.error.code == "rate_limited" for e in firsts) == 7


async def test_answers_admitted_at_once_never_together_overshoot_the_apps_budget():
    limiter = Limiter(Quotas(daily_budget=3 * (PROMPT + CAP), output_cap_tokens=CAP), clock=Clock())
    release = asyncio.Event()

    firsts = await asyncio.gather(*(_open(limiter, f"203.0.113.{n}", release) for n in range(9)))

    assert sum(not isinstance(e, Failure) for e in firsts) == 3
    assert {e.error.code for e in firsts if isinstance(e, Failure)} == {"budget_exhausted"}


async def test_a_client_that_leaves_while_a_reasoning_model_thinks_is_charged_its_reservation():
    quotas = Quotas(tokens_per_day=2 * (PROMPT + CAP), output_cap_tokens=CAP, reasoning=True)
    limiter = Limiter(quotas, clock=Clock())
    for _ in range(2):
        guarded = limiter.guard("203.0.113.5", REQUEST, _thinking(asyncio.Event()))
        assert isinstance(await anext(guarded), Step)  # the thinking is on the wire
        await guarded.aclose()  # and the client leaves

    refused = await anext(limiter.guard("203.0.113.5", REQUEST, _thinking(asyncio.Event())))

    assert isinstance(refused, Failure)
    assert refused.error.code == "rate_limited"


async def test_a_settled_answer_gives_back_what_it_reserved_beyond_its_usage():
    # Two reservations do not fit; an answer settled at 30 tokens leaves room for a second.
    limiter = Limiter(
        Quotas(tokens_per_day=PROMPT + CAP + 30, output_cap_tokens=CAP), clock=Clock()
    )
    release = asyncio.Event()
    release.set()

    first = [e async for e in limiter.guard("203.0.113.5", REQUEST, _thinking(release))]
    second = [e async for e in limiter.guard("203.0.113.5", REQUEST, _thinking(release))]

    assert isinstance(first[-1], End)
    assert isinstance(second[-1], End)


async def test_a_network_may_take_only_its_share_of_the_budget():
    quotas = Quotas(
        daily_budget=10 * (PROMPT + CAP), network_budget_share=0.2, output_cap_tokens=CAP
    )
    limiter = Limiter(quotas, clock=Clock())
    release = asyncio.Event()

    ours = await asyncio.gather(*(_open(limiter, f"203.0.113.{n}", release) for n in range(6)))
    theirs = await _open(limiter, "198.51.100.1", release)

    assert sum(not isinstance(e, Failure) for e in ours) == 2
    refused = next(e for e in ours if isinstance(e, Failure))
    assert "network" in refused.error.message
    assert not isinstance(theirs, Failure)
