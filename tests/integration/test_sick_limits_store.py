"""A sick counter store never slows answers: the real Table Storage client against loopback
servers that accept connections and never answer, or answer every request with 500. After the
first failure the limiter counts in this process for a while (a circuit breaker), so later
admissions do not wait on the store at all; updates that wait for it are combined per record,
and their queue is bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from chat_api.events import End, Event, Step, TextDelta
from chat_api.limits import Limiter, Quotas, StoreUnavailable
from chat_api.limits.ledger import Ledger
from chat_api.limits.table import create_table_store
from chat_api.protocol import ChatRequest
from standins.azurite import connection_string

QUOTAS = Quotas(requests_per_minute=1000, tokens_per_day=1_000_000, daily_budget=10_000_000)


class Hanging:
    """Accepts connections, reads what is sent, never answers: how many requests arrived."""

    def __init__(self) -> None:
        self.requests = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Hanging:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            if line.split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"PATCH", b"DELETE"):
                self.requests += 1
        writer.close()

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


class Failing:
    """Answers every request with 500: how many arrived."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _fail(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(status=500, text="store down")

    async def __aenter__(self) -> Failing:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._fail)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def _request() -> ChatRequest:
    return ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})


async def _answer() -> AsyncIterator[Event]:
    yield Step("Question received")
    yield TextDelta("word")
    yield End("stop", {"total_tokens": 30})


async def _ask(limiter: Limiter, address: str) -> list[Event]:
    return [e async for e in limiter.guard(address, _request(), _answer())]


@pytest.mark.parametrize("sick", [Hanging, Failing])
async def test_after_one_store_failure_admissions_no_longer_wait_on_the_store(sick):
    async with sick() as server:
        store = create_table_store(
            endpoint="", connection_string=connection_string(server.port), table="counts"
        )
        limiter = Limiter(QUOTAS, store)
        started = time.monotonic()

        answers = [await _ask(limiter, f"203.0.113.{n}") for n in range(20)]

        elapsed = time.monotonic() - started
        requests = server.requests
        await limiter.aclose()

    assert all(isinstance(answer[-1], End) for answer in answers)  # every one answered
    # The first admission's records, and this process's share of the app total: then the
    # breaker is open and nothing more is sent.
    assert requests <= 4
    # Twenty admissions of which one waited on the store (a bound well under the store's own
    # 2 s timeout): nowhere near twenty waits.
    assert elapsed < 5


async def test_updates_waiting_for_a_failed_store_are_combined_and_their_queue_is_bounded():
    async with Failing() as server:
        store = create_table_store(
            endpoint="", connection_string=connection_string(server.port), table="counts"
        )
        ledger = Ledger(store, max_pending=50, open_seconds=60)
        limiter = Limiter(QUOTAS, store, ledger=ledger)

        for _ in range(10):  # one client, many answers: one record waiting, not ten
            await _ask(limiter, "203.0.113.1")
        one_client = ledger.pending
        for n in range(200):  # many clients: the queue stops at its bound
            await _ask(limiter, f"198.51.{n // 250}.{n % 250}")
        many_clients = ledger.pending
        await limiter.aclose()

    assert one_client == 2  # the client's record and this process's share of the app total
    assert many_clients == 50
    assert ledger.dropped > 0


async def test_writers_of_one_record_wait_their_turn_at_most_the_bound():
    async with Hanging() as server:
        store = create_table_store(
            endpoint="", connection_string=connection_string(server.port), table="counts"
        )

        def add(counts: dict[str, int]) -> dict[str, int]:
            return {"n": counts.get("n", 0) + 1}

        results = await asyncio.gather(
            *(store.update("day", "row", add) for _ in range(5)), return_exceptions=True
        )
        await store.aclose()

    # One waited for the store (its own timeout); the other four gave up on the record's lock
    # without queueing behind it.
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert server.requests == 1
