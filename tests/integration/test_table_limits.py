"""The shared counter store in Azure Table Storage, against Azurite: counts that concurrent
writers never lose, two app processes enforcing one limit together, and answers that go on
when the store goes away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from chat_api.limits import StoreUnavailable
from chat_api.limits.rows import Rows
from chat_api.limits.table import TableStore, create_table_store
from tests.support import azurite
from tests.support.azurite import Azurite
from tests.support.ndjson import question
from tests.support.waiting import PATIENCE_SECONDS

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
        await asyncio.gather(
            *(store.update("day", "client", _add) for store in (first, second) for _ in range(25))
        )

        assert await first.read("day", "client") == {"n": 50}
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
