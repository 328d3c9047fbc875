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

from chat_api.limits.client import (
    FRONT_DOOR_HEADER,
    PLATFORM_HEADER,
    client_address,
    client_key,
    identify,
)
from chat_api.limits.limiter import Limiter, Quotas
from chat_api.limits.rows import Rows
from chat_api.limits.store import CounterStore, MemoryStore, StoreUnavailable
from chat_api.settings import Settings

__all__ = [
    "FRONT_DOOR_HEADER",
    "PLATFORM_HEADER",
    "CounterStore",
    "Limiter",
    "MemoryStore",
    "Quotas",
    "StoreUnavailable",
    "client_address",
    "client_key",
    "create_limiter",
    "identify",
]

log = logging.getLogger(__name__)


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


def create_limiter(settings: Settings, signal: Callable[[str], None] = lambda _: None) -> Limiter:
    """The limiter the settings describe, over the store they name; `signal` counts what the
    limits warn about (telemetry's metric)."""
    store: CounterStore | None = None
    if settings.limits_store == "table":
        from chat_api.limits.table import create_table_store

        store = create_table_store(
            endpoint=settings.azure_storage_table_endpoint,
            connection_string=settings.azure_storage_table_connection_string,
            table=settings.limits_table,
            client_id=settings.azure_client_id,
        )
        if not settings.limits_key_secret:
            log.warning(
                "CHAT_LIMITS_KEY_SECRET is not set: each instance hashes clients' addresses "
                "with its own secret, so instances do not share clients' counts (infra/ sets it)"
            )
    return Limiter(
        quotas_from(settings),
        store,
        rows=Rows(settings.limits_key_secret),
        header=settings.client_address_header,
        signal=signal,
    )
