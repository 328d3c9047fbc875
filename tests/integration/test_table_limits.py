"""The shared counter store in Azure Table Storage, against Azurite: counts that concurrent
writers never lose, two app processes enforcing one limit together, and answers that go on
when the store goes away."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from chat_api.events import End, Event, TextDelta
from chat_api.feedback import FeedbackBook
from chat_api.limits import Limiter, Quotas, StoreUnavailable
from chat_api.limits.counts import Delta
from chat_api.limits.rows import Rows, app_partition, day_of
from chat_api.limits.table import TableStore, create_table_store
from chat_api.protocol import ChatRequest, FeedbackRequest
from standins import azurite
from standins.azurite import Azurite
from standins.waiting import PATIENCE_SECONDS
from tests.support.ndjson import question

pytestmark = pytest.mark.skipif(
    not azurite.available(), reason="Azurite is not installed (make test installs it)"
)
STREAM = "/api/chat/stream"


@pytest.fixture(scope="module")
def tables() -> Iterator[Azurite]:
    with azurite.azurite_tables() as server:
        yield server


def _store(server: Azurite, table: str = "counters") -> TableStore:
    return create_table_store(endpoint="", connection_string=server.connection_string, table=table)


def _add(counts: dict[str, int]) -> dict[str, int]:
    counts["n"] = counts.get("n", 0) + 1
    return counts


async def test_concurrent_updates_from_two_instances_lose_no_count(tables):
    first, second = _store(tables), _store(tables)  # two instances, each with its own cache
    try:
        results = await asyncio.gather(
            *(store.update("day", "client", _add) for store in (first, second) for _ in range(25)),
            return_exceptions=True,
        )

        # A writer that waited too long for its turn gave up (the caller queues its update);
        # every update that returned is counted, once.
        done = [r for r in results if not isinstance(r, StoreUnavailable)]
        assert done
        assert await first.read("day", "client") == {"n": len(done)}
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_update_is_one_request_when_the_record_is_new_or_known(tables):
    from azure.data.tables.aio import TableClient

    requests: list[str] = []
    client = TableClient.from_connection_string(
        tables.connection_string,
        "roundtrips",
        raw_response_hook=lambda response: requests.append(response.http_request.method),
    )
    store, other = TableStore(client), _store(tables, "roundtrips")
    try:
        await store.update("day", "warm-up", _add)  # the table is created on the first write
        requests.clear()

        await store.update("day", "client", _add)  # new: created
        await store.update("day", "client", _add)  # known: replaced if unchanged
        assert requests == ["POST", "PUT"]

        await other.update("day", "client", _add)  # another instance writes in between
        requests.clear()
        assert await store.update("day", "client", _add) == {"n": 4}
        assert requests == ["PUT", "GET", "PUT"]  # refused (412), read again, applied again
    finally:
        await store.aclose()
        await other.aclose()


async def test_a_record_that_was_never_written_reads_as_empty(tables):
    store = _store(tables, "emptyreads")
    try:
        assert await store.read("day", "nobody") == {}
    finally:
        await store.aclose()


async def test_an_unreachable_store_fails_fast_as_unavailable():
    with azurite.azurite_tables() as server:
        store = _store(server)
        await store.update("day", "client", _add)
        server.stop()
        started = time.monotonic()

        with pytest.raises(StoreUnavailable):
            await store.update("day", "client", _add)

        assert time.monotonic() - started < 3  # within the store's own timeout
        await store.aclose()


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=20)


SECRET = "a-secret-provisioning-made"


def _table_env(server: Azurite, table: str, **limits: str) -> dict[str, str]:
    """Apps sharing a table; answers reserve their prompt and an output cap of 20 tokens."""
    return {
        "CHAT_LIMITS_STORE": "table",
        "AZURE_STORAGE_TABLE_CONNECTION_STRING": server.connection_string,
        "CHAT_LIMITS_TABLE": table,
        "CHAT_LIMITS_KEY_SECRET": SECRET,
        "CHAT_MAX_OUTPUT_TOKENS": "20",
        **limits,
    }


def _wait_for_tokens(server: Azurite, table: str, address: str, at_least: int) -> None:
    """Until the answer's tokens are in the store (they are written just after it ends)."""
    store = _store(server, table)

    async def tokens() -> int:
        day = time.strftime("%Y%m%d", time.gmtime())
        return (await store.read(*Rows(SECRET).counted(day, address))).get("tokens", 0)

    async def poll() -> bool:
        deadline = time.monotonic() + PATIENCE_SECONDS
        try:
            while await tokens() < at_least:
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.05)
            return True
        finally:
            await store.aclose()

    assert asyncio.run(poll()), f"{at_least} tokens never reached the store"


def test_two_app_processes_sharing_one_store_enforce_one_limit_together(start_app, tables):
    env = _table_env(tables, "shared", CHAT_CLIENT_TOKENS_PER_DAY="60")
    with start_app(env) as first, start_app(env) as second, _client("127.0.0.30") as http:
        assert http.post(first.url + STREAM, json=question("hi")).status_code == 200
        _wait_for_tokens(tables, "shared", "127.0.0.30", 30)
        assert http.post(second.url + STREAM, json=question("hi")).status_code == 200
        _wait_for_tokens(tables, "shared", "127.0.0.30", 60)

        # 60 of 60 tokens spent through the two processes: both refuse now.
        for app in (first, second):
            refused = http.post(app.url + STREAM, json=question("hi"))
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limited"


def test_answers_go_on_under_in_process_limits_when_the_store_stops(start_app):
    with azurite.azurite_tables() as server:
        env = _table_env(server, "stopping", CHAT_CLIENT_TOKENS_PER_DAY="45")
        with start_app(env) as app, _client("127.0.0.31") as http:
            assert http.post(app.url + STREAM, json=question("hi")).status_code == 200
            server.stop()

            refused = [http.post(app.url + STREAM, json=question("hi")) for _ in range(3)]
            with _client("127.0.0.32") as other:
                answered = other.post(app.url + STREAM, json=question("hi"))

            # Still limiting (30 tokens spent, no room for another 24), and still answering.
            assert [r.status_code for r in refused] == [429, 429, 429]
            assert answered.status_code == 200
            log = app.log_once_it_has("the limits store is unavailable")
            assert log.count("the limits store is unavailable") == 1  # once a minute


# ---- Exact shared totals, and no addresses kept ----------------------------------------------

ADDRESSES = ("203.0.113.5", "203.0.113.6", "203.0.113.7")
INSTANCES, ANSWERS, TOKENS = 6, 20, 30
QUOTAS = Quotas(
    tokens_per_day=10**9,
    daily_budget=10**10,
    network_tokens_per_day=10**9,
    output_cap_tokens=50,
)


def _request() -> ChatRequest:
    return ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})


async def _answer() -> AsyncIterator[Event]:
    yield TextDelta("word")
    yield End("stop", {"total_tokens": TOKENS})


def _instance(server: Azurite, table: str, *, clock: Callable[[], float] = time.time) -> Limiter:
    """One instance of the app's limiter: its own table client, cache and share of the total."""
    return Limiter(QUOTAS, _store(server, table), rows=Rows(SECRET), clock=clock)


async def _answers(limiter: Limiter, count: int, first: int = 0) -> None:
    async def one(n: int) -> None:
        address = ADDRESSES[n % len(ADDRESSES)]
        [e async for e in limiter.guard(address, _request(), _answer())]

    await asyncio.gather(*(one(first + n) for n in range(count)))
    await limiter.aclose()


async def _entities(server: Azurite, table: str) -> list[dict]:
    from azure.data.tables.aio import TableClient

    async with TableClient.from_connection_string(server.connection_string, table) as client:
        return [entity async for entity in client.list_entities()]


def _tokens(entity: dict) -> int:
    value = entity["tokens"]
    return int(getattr(value, "value", value))


def test_many_instances_answering_at_once_lose_no_token(tables):
    # Each instance a thread with its own event loop, as processes would be; every answer
    # reserves 50 + 4 tokens and settles to 30, on three clients' rows, one network's row and
    # the instance's share of the app's total.
    def instance(index: int) -> None:
        asyncio.run(_answers(_instance(tables, "manywriters"), ANSWERS, index))

    threads = [threading.Thread(target=instance, args=(i,)) for i in range(INSTANCES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entities = asyncio.run(_entities(tables, "manywriters"))
    day = time.strftime("%Y%m%d", time.gmtime())
    app = [_tokens(e) for e in entities if e["PartitionKey"] == app_partition(day)]
    by_row = {e["RowKey"]: _tokens(e) for e in entities}
    rows = Rows(SECRET)
    total = INSTANCES * ANSWERS * TOKENS
    assert len(app) == INSTANCES  # one row of the total per instance
    assert sum(app) == total
    assert by_row[rows.counted(day, "203.0.113.0/24")[1]] == total
    assert sum(by_row[rows.counted(day, a)[1]] for a in ADDRESSES) == total


async def test_a_newer_minute_resets_a_count_and_an_older_one_never_does(tables):
    store = _store(tables, "minutes")
    try:
        await store.update("day", "client", Delta(requests=3, minute=100))
        older = await store.update("day", "client", Delta(requests=1, minute=99))
        newer = await store.update("day", "client", Delta(requests=1, minute=101))
    finally:
        await store.aclose()

    assert (older["minute"], older["requests"]) == (100, 4)  # a clock behind: counted, no reset
    assert (newer["minute"], newer["requests"]) == (101, 1)


async def test_records_of_the_day_before_yesterday_and_older_are_deleted(tables):
    now = time.time()
    for days_ago in (3, 2, 1):
        await _answers(_instance(tables, "olddays", clock=lambda d=days_ago: now - d * 86_400), 3)

    await _answers(_instance(tables, "olddays"), 3)  # today's first answers clean up
    partitions = {e["PartitionKey"][:8] for e in await _entities(tables, "olddays")}

    assert partitions == {day_of(now - 86_400), day_of(now)}


async def test_the_clean_up_of_old_days_keeps_the_ratings_of_those_days(tables):
    now = time.time()
    three_days_ago = now - 3 * 86_400
    ratings = _store(tables, "keptratings")
    book = FeedbackBook(ratings, clock=lambda: three_days_ago)
    rating = FeedbackRequest.model_validate(
        {"answer_id": "4d34e2b165a72ed37d9682d5", "rating": "up"}
    )
    assert await book.record(rating)
    await _answers(_instance(tables, "keptratings", clock=lambda: three_days_ago), 3)

    await _answers(_instance(tables, "keptratings"), 3)  # today's first answers clean up
    partitions = {e["PartitionKey"] for e in await _entities(tables, "keptratings")}

    assert f"feedback-{day_of(three_days_ago)}" in partitions
    assert not any(p.startswith(day_of(three_days_ago)) for p in partitions)
    assert [r.answer_id for r in await book.ratings(day_of(three_days_ago))] == [rating.answer_id]
    await ratings.aclose()


async def test_no_row_key_or_partition_names_an_address(tables):
    await _answers(_instance(tables, "nokeys"), 9)

    entities = await _entities(tables, "nokeys")
    keys = " ".join(f"{e['PartitionKey']} {e['RowKey']}" for e in entities)
    assert entities
    assert not any(part in keys for part in ("203.0.113", "203-0-113", "cb00:71"))
    # Clients and their network on partitions of their own, beside the app's.
    assert len({e["PartitionKey"] for e in entities}) >= 3


# The Azure SDK traced, as the Azure Monitor distro does, in a process of its own (tracing is
# process-wide): every span the table client's requests would make, with its attributes.
_TRACED_UPDATE = """
import asyncio, json, sys
from azure.core.settings import settings
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from chat_api.limits.table import create_table_store

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
settings.tracing_implementation = "opentelemetry"

async def main():
    store = create_table_store(endpoint="", connection_string=sys.argv[1], table="traced")
    await store.update("day", sys.argv[2], lambda c: {"n": c.get("n", 0) + 1})
    await store.read("day", sys.argv[2])
    await store.aclose()

asyncio.run(main())
print(json.dumps([[s.name, dict(s.attributes or {})] for s in exporter.get_finished_spans()]))
"""


def test_the_table_clients_requests_make_no_span(tables):
    import json
    import subprocess
    import sys

    ran = subprocess.run(
        [sys.executable, "-c", _TRACED_UPDATE, tables.connection_string, "203.0.113.5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    spans = json.loads(ran.stdout.strip().splitlines()[-1])
    assert spans == []
