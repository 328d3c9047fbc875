"""Counters in Azure Table Storage, shared by every instance of the app.

No request to the table is traced (`tracing_options`): the Azure SDK's spans would carry each
request's URL, and a record's URL names its keys. The keys are hashes (`rows.py`); this keeps
them, and the store's latency, out of the app's traces as well.

Keyless in Azure: the app's managed identity (`AZURE_CLIENT_ID` picks a user-assigned one) with
the Storage Table Data Contributor role on the account. A connection string
(`AZURE_STORAGE_TABLE_CONNECTION_STRING`) serves local runs and the tests against Azurite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from chat_api.limits.store import Change, Counts, Fields, RecordBusy, StoreUnavailable

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 8
_KEYS = ("PartitionKey", "RowKey")
_UNTRACED: dict[str, Any] = {"tracing_options": {"enabled": False}}


class TableStore:
    """`update` is an optimistic read-modify-write. Each record's last known counts and ETag
    are kept in memory, so the usual update is one request: a replace that holds only if the
    record's ETag is still the one we saw (If-Match), or the creation of a record this process
    has not seen. When another instance wrote in between,
    the service refuses it (412, or 409 when two create a record at once); we then read the
    record again, apply the same change to the fresh counts and try again. A change is a pure
    function of the counts it is given, so applying it again is safe, and no write is ever based
    on counts that another writer has since replaced: no count is lost."""

    name = "table"

    def __init__(
        self,
        client: TableClient,
        *,
        timeout_seconds: float = 2.0,
        lock_wait_seconds: float = 0.3,
        max_cached: int = 10_000,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._close_credential = close
        self._timeout = timeout_seconds
        self._lock_wait = lock_wait_seconds
        self._known: OrderedDict[tuple[str, str], tuple[Counts, str]] = OrderedDict()
        self._max_cached = max_cached
        self._table_ready = False
        self._locks: dict[tuple[str, str], list[Any]] = {}

    async def update(self, partition: str, row: str, change: Change) -> Counts:
        # Writers in this process take turns on a record (one lock per record in use), so the
        # ETag race is only ever between instances; a writer waits its turn at most
        # `lock_wait_seconds` (a queue behind a slow store must not grow into every answer).
        key = (partition, row)
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        lock: asyncio.Lock = entry[0]
        try:
            try:
                async with asyncio.timeout(self._lock_wait):
                    await lock.acquire()
            except TimeoutError:
                raise RecordBusy(f"record busy for over {self._lock_wait} s") from None
            try:
                return await self._update(key, change)
            finally:
                lock.release()
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._locks[key]

    async def _update(self, key: tuple[str, str], change: Change) -> Counts:
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        partition, row = key
        for attempt in range(_MAX_ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.02 * attempt))  # let the winner finish
            known = self._known.pop(key, None)
            if known is not None:
                counts, etag = known
            elif attempt:
                counts, etag = await self._fetch(partition, row)
            else:
                # Not seen by this process: most often a new record (a client's first question
                # of the day), so try to create it; if it exists, it is read on the next attempt.
                counts, etag = {}, ""
            new = change(dict(counts))
            try:
                etag = await self._write(partition, row, new, etag)
            except (ResourceExistsError, ResourceModifiedError):
                continue  # another writer came first: read its counts and apply ours again
            self._remember(key, new, etag)
            return new
        raise RecordBusy("too many concurrent writers")

    async def read(self, partition: str, row: str) -> Counts:
        counts, etag = await self._fetch(partition, row)
        if etag:
            self._remember((partition, row), counts, etag)
        return counts

    async def put(self, partition: str, row: str, fields: Fields) -> None:
        from azure.data.tables import UpdateMode

        await self._ensure_table()
        entity = {"PartitionKey": partition, "RowKey": row, **fields}
        await self._call(self._client.upsert_entity(entity, mode=UpdateMode.REPLACE))

    async def rows(self, partition: str) -> dict[str, Fields]:
        from azure.core.exceptions import ResourceNotFoundError

        found: dict[str, Fields] = {}

        async def read_all() -> None:
            entities = self._client.query_entities(
                "PartitionKey eq @partition", parameters={"partition": partition}
            )
            async for entity in entities:
                found[entity["RowKey"]] = {
                    name: str(value) for name, value in entity.items() if name not in _KEYS
                }

        try:
            await self._call(read_all())
        except ResourceNotFoundError:
            return {}  # no table yet: nothing written
        return found

    async def drop(self, partition: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        async def delete_all() -> None:
            entities = self._client.query_entities(
                "PartitionKey eq @partition",
                parameters={"partition": partition},
                select=list(_KEYS),
            )
            async for entity in entities:
                await self._client.delete_entity(partition, entity["RowKey"])

        try:
            await self._call(delete_all())
        except ResourceNotFoundError:
            return  # no table yet: nothing to delete

    async def read_partition(self, partition: str) -> dict[str, Counts]:
        query = self._client.query_entities(
            "PartitionKey eq @partition", parameters={"partition": partition}, **_UNTRACED
        )
        return {entity["RowKey"]: _counts(entity) for entity in await self._query(query)}

    async def delete_before(self, partition: str) -> int:
        """Delete the records of every partition that sorts before `partition`: a scan of the
        table's older days, once a day per process (another process deleting the same records
        at once is no failure)."""
        from azure.core.exceptions import ResourceNotFoundError

        query = self._client.query_entities(
            "PartitionKey lt @before",
            parameters={"before": partition},
            select=list(_KEYS),
            **_UNTRACED,
        )
        old = await self._query(query)
        for entity in old:
            with contextlib.suppress(ResourceNotFoundError):
                await self._call(
                    self._client.delete_entity(
                        entity["PartitionKey"], entity["RowKey"], **_UNTRACED
                    )
                )
        return len(old)

    async def aclose(self) -> None:
        await self._client.close()
        if self._close_credential is not None:
            await self._close_credential()

    def _remember(self, key: tuple[str, str], counts: Counts, etag: str) -> None:
        self._known[key] = (counts, etag)
        if len(self._known) > self._max_cached:
            self._known.popitem(last=False)

    async def _fetch(self, partition: str, row: str) -> tuple[Counts, str]:
        """The record's counts and ETag; `({}, "")` when it does not exist yet."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = await self._call(self._client.get_entity(partition, row, **_UNTRACED))
        except ResourceNotFoundError:
            return {}, ""
        return _counts(entity), entity.metadata["etag"]

    async def _write(self, partition: str, row: str, counts: Counts, etag: str) -> str:
        from azure.core import MatchConditions
        from azure.data.tables import EdmType, EntityProperty, UpdateMode

        entity: dict[str, Any] = {"PartitionKey": partition, "RowKey": row}
        entity.update({name: EntityProperty(n, EdmType.INT64) for name, n in counts.items()})
        if not etag:
            await self._ensure_table()
            written = await self._call(self._client.create_entity(entity, **_UNTRACED))
        else:
            written = await self._call(
                self._client.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                    **_UNTRACED,
                )
            )
        return str(written["etag"])

    async def _ensure_table(self) -> None:
        """Create the table on the first new record (Bicep creates it in Azure; Azurite starts
        empty). A refusal is left to the write that follows to report."""
        if self._table_ready:
            return
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        try:
            await self._call(self._client.create_table(**_UNTRACED))
        except ResourceExistsError:
            pass
        except HttpResponseError as exc:
            log.info("could not create the limits table (status %s)", exc.status_code)
        self._table_ready = True

    async def _query(self, query: Any) -> list[Any]:
        """Every entity a query finds; none when the table does not exist yet."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            result: list[Any] = await self._call(_collect(query))
        except ResourceNotFoundError:
            return []
        return result

    async def _call(self, call: Any) -> Any:
        """Await one request within the store's timeout; failures other than the answers the
        callers handle (not found, exists, modified) become StoreUnavailable."""
        from azure.core.exceptions import (
            AzureError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )

        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            raise
        except (AzureError, OSError, TimeoutError) as exc:
            raise StoreUnavailable(type(exc).__name__) from None


def _counts(entity: Any) -> Counts:
    """A record's counts: every property but its keys."""
    return {
        name: int(getattr(value, "value", value))
        for name, value in entity.items()
        if name not in _KEYS
    }


async def _collect(query: Any) -> list[Any]:
    return [entity async for entity in query]


def create_table_store(
    *,
    endpoint: str,
    connection_string: str,
    table: str,
    client_id: str = "",
    timeout_seconds: float = 2.0,
) -> TableStore:
    """A TableStore over a connection string, else the endpoint with Microsoft Entra ID; each
    call within `timeout_seconds` (a reader of whole days, such as `make report`, waits longer)."""
    from azure.data.tables.aio import TableClient

    # The store's own timeout and the in-process fallback replace the SDK's retries: a request
    # must never wait through several of them for a counter.
    options: dict[str, Any] = {"retry_total": 0}
    if connection_string:
        client = TableClient.from_connection_string(connection_string, table, **options)
        return TableStore(client, timeout_seconds=timeout_seconds)
    from azure.identity.aio import DefaultAzureCredential

    credential = DefaultAzureCredential(managed_identity_client_id=client_id or None)
    client = TableClient(endpoint, table, credential=credential, **options)
    return TableStore(client, timeout_seconds=timeout_seconds, close=credential.close)
