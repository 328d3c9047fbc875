"""Counter stores: where the limits' counts live. One interface, an in-process implementation
(the default, and the fallback when a shared store cannot be reached) and Azure Table Storage
(`table.py`), shared by every instance of the app.

A counter is a small record (a dict of whole numbers) addressed by a partition and a row. The
only write is `update`: apply a pure function to the record's current value and store the result
atomically, so concurrent writers never lose each other's counts.

The same stores keep rows of text (`RowStore`: the visitors' ratings of answers), written whole
and read a partition at a time."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

Counts = dict[str, int]
Change = Callable[[Counts], Counts]
Fields = dict[str, str]


_EMPTY: Counts = {}


class StoreUnavailable(Exception):
    """The store could not be reached or refused the call; the caller falls back."""


class RecordBusy(StoreUnavailable):
    """The record is contended (writers of this process, or of other instances, kept it busy
    for longer than a caller may wait): no sign that the store is sick."""


class CounterStore(Protocol):
    name: str

    async def update(self, partition: str, row: str, change: Change) -> Counts:
        """Store `change(current)` (current is `{}` for a new record) and return it. Raises
        StoreUnavailable when the store fails."""
        ...

    async def read(self, partition: str, row: str) -> Counts:
        """The record's counts, `{}` when there is none. Raises StoreUnavailable."""
        ...

    async def read_partition(self, partition: str) -> dict[str, Counts]:
        """Every record of a partition, by row. Raises StoreUnavailable."""
        ...

    async def delete_before(self, partition: str) -> int:
        """Delete every record whose partition sorts before the given one (a day, `YYYYMMDD`);
        how many were deleted. Rows of another kind, the ratings' `feedback-YYYYMMDD`, are kept
        for the report: their partitions sort after every day. Raises StoreUnavailable."""
        ...

    async def aclose(self) -> None: ...


class RowStore(Protocol):
    async def put(self, partition: str, row: str, fields: Fields) -> None:
        """Store the row, replacing one of the same partition and row. Raises StoreUnavailable."""
        ...

    async def rows(self, partition: str) -> dict[str, Fields]:
        """Every row of the partition, by row. Raises StoreUnavailable."""
        ...

    async def drop(self, partition: str) -> None:
        """Delete every row of the partition. Raises StoreUnavailable."""
        ...


class MemoryStore:
    """Counters in this process's memory. Each update runs without an await, so it is atomic on
    the event loop. Only the newest records are kept (the oldest are forgotten first), so a flood
    of distinct clients cannot grow memory without bound."""

    name = "memory"

    def __init__(self, max_records: int = 100_000) -> None:
        self._records: OrderedDict[tuple[str, str], Counts] = OrderedDict()
        self._rows: OrderedDict[tuple[str, str], Fields] = OrderedDict()
        self._max_records = max_records

    async def update(self, partition: str, row: str, change: Change) -> Counts:
        return self.update_now(partition, row, change)

    def update_now(self, partition: str, row: str, change: Change) -> Counts:
        key = (partition, row)
        counts = change(self._records.pop(key, {}))
        self._records[key] = counts
        if len(self._records) > self._max_records:
            self._records.popitem(last=False)
        return counts

    async def read(self, partition: str, row: str) -> Counts:
        return dict(self._records.get((partition, row), {}))

    async def put(self, partition: str, row: str, fields: Fields) -> None:
        key = (partition, row)
        self._rows.pop(key, None)
        self._rows[key] = dict(fields)
        if len(self._rows) > self._max_records:
            self._rows.popitem(last=False)

    async def rows(self, partition: str) -> dict[str, Fields]:
        return {row: dict(fields) for (p, row), fields in self._rows.items() if p == partition}

    async def drop(self, partition: str) -> None:
        for key in [key for key in self._rows if key[0] == partition]:
            del self._rows[key]

    def peek(self, partition: str, row: str) -> Counts:
        """The record's counts, not to be changed."""
        return self._records.get((partition, row), _EMPTY)

    async def read_partition(self, partition: str) -> dict[str, Counts]:
        return {row: dict(c) for (p, row), c in self._records.items() if p == partition}

    async def delete_before(self, partition: str) -> int:
        old = [key for key in self._records if key[0] < partition]
        for key in old:
            del self._records[key]
        return len(old)

    async def aclose(self) -> None:
        self._records.clear()
        self._rows.clear()
