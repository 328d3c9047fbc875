"""Limits for an app on the public internet: per-client request rate and daily tokens, the app's
daily token budget, answers in flight per process and a deadline per answer (`limiter.py`; the
deadline and the tally of what an answer spends in `answer.py`), with counters in this process or
in Azure Table Storage shared by every instance (`store.py`, `table.py`), and who a client is
(`client.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat_api.limits.client import PLATFORM_HEADER, client_address, client_key
from chat_api.limits.limiter import Limiter, Quotas
from chat_api.limits.store import CounterStore, MemoryStore, RowStore, StoreUnavailable
from chat_api.settings import Settings

if TYPE_CHECKING:
    from chat_api.limits.table import TableStore

__all__ = [
    "PLATFORM_HEADER",
    "CounterStore",
    "Limiter",
    "MemoryStore",
    "Quotas",
    "RowStore",
    "StoreUnavailable",
    "client_address",
    "client_key",
    "create_limiter",
    "create_store",
]


def create_store(settings: Settings) -> MemoryStore | TableStore:
    """The store the settings name: the shared table, or this process's memory."""
    if settings.limits_store != "table":
        return MemoryStore()
    from chat_api.limits.table import create_table_store

    return create_table_store(
        endpoint=settings.azure_storage_table_endpoint,
        connection_string=settings.azure_storage_table_connection_string.get_secret_value(),
        table=settings.limits_table,
        client_id=settings.azure_client_id,
    )


def create_limiter(settings: Settings, store: CounterStore | None = None) -> Limiter:
    """The limiter the settings describe, over `store` (by default, the one they name)."""
    quotas = Quotas(
        requests_per_minute=settings.client_requests_per_minute,
        tokens_per_day=settings.client_tokens_per_day,
        daily_budget=settings.daily_token_budget,
        max_concurrent=settings.max_concurrent_answers,
        answer_timeout_seconds=settings.answer_timeout_seconds,
        prompt_budget_tokens=settings.limits.max_history_tokens,
    )
    return Limiter(quotas, create_store(settings) if store is None else store)
