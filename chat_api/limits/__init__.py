"""Limits for an app on the public internet: per-client and per-network request rate and daily
tokens, the app's daily token budget and each network's share of it, answers in flight per
process and a deadline per answer (`limiter.py`; the app's budget in `budget.py`, the deadline
and the tally of what an answer spends in `answer.py`), with counts in this process and, when
configured, in Azure Table Storage shared by every instance (`ledger.py` keeps a sick store from
slowing answers; `store.py`, `table.py`, `rows.py`), and who a client is (`client.py`,
`callers.py`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from chat_api.limits.client import (
    FRONT_DOOR_HEADER,
    PLATFORM_HEADER,
    client_address,
    client_key,
    identify,
)
from chat_api.limits.limiter import Limiter, Quotas
from chat_api.limits.rows import Rows
from chat_api.limits.store import CounterStore, MemoryStore, RowStore, StoreUnavailable
from chat_api.settings import Settings, is_set

if TYPE_CHECKING:
    from chat_api.limits.table import TableStore

__all__ = [
    "FRONT_DOOR_HEADER",
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
    "identify",
]

log = logging.getLogger(__name__)


def create_store(settings: Settings) -> MemoryStore | TableStore:
    """The store the settings name: the shared table, or this process's memory."""
    if settings.limits_store != "table":
        return MemoryStore()
    from chat_api.limits.table import create_table_store

    if not is_set(settings.limits_key_secret):
        log.warning(
            "CHAT_LIMITS_KEY_SECRET is not set: each instance hashes clients' addresses "
            "with its own secret, so instances do not share clients' counts (infra/ sets it)"
        )
    return create_table_store(
        endpoint=settings.azure_storage_table_endpoint,
        connection_string=settings.azure_storage_table_connection_string.get_secret_value(),
        table=settings.limits_table,
        client_id=settings.azure_client_id,
    )


def quotas_from(settings: Settings) -> Quotas:
    return Quotas(
        requests_per_minute=settings.client_requests_per_minute,
        tokens_per_day=settings.client_tokens_per_day,
        daily_budget=settings.daily_token_budget,
        max_concurrent=settings.max_concurrent_answers,
        answer_timeout_seconds=settings.answer_timeout_seconds,
        prompt_budget_tokens=settings.limits.max_history_tokens,
        output_cap_tokens=settings.max_output_tokens,
        reasoning=settings.reasoning_model,
        network_requests_per_minute=settings.network_requests_per_minute,
        network_tokens_per_day=settings.network_tokens_per_day,
        network_budget_share=settings.network_budget_share,
    )


def create_limiter(
    settings: Settings,
    store: CounterStore | None = None,
    signal: Callable[[str], None] = lambda _: None,
) -> Limiter:
    """The limiter the settings describe, over `store` (by default, the one they name);
    `signal` counts what the limits warn about (telemetry's metric)."""
    return Limiter(
        quotas_from(settings),
        create_store(settings) if store is None else store,
        rows=Rows(settings.limits_key_secret.get_secret_value()),
        header=settings.client_address_header,
        signal=signal,
    )
