"""The one ChatService of this process, created on first use inside the running event loop
(the HTTP clients bind to it) and reused by every request."""

from __future__ import annotations

import gc
from functools import cache

from chat_api.service import ChatService
from chat_api.settings import Settings
from chat_api.telemetry import Telemetry, create_telemetry

_service: ChatService | None = None


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def telemetry() -> Telemetry:
    """Off (nothing imported), or exporting where the settings say; set up once per process."""
    return create_telemetry(settings())


def service() -> ChatService:
    global _service
    if _service is None:
        _service = ChatService.from_settings(settings(), telemetry())
        _tune_garbage_collector()
    return _service


def _tune_garbage_collector() -> None:
    """Hundreds of open streams hold many live objects, and each full collection walks all of
    them while every stream waits (`make bench` saw chunk gaps grow by 70 ms at 500 streams).
    What start-up made lives as long as the process: move it out of the collector's sight, and
    collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def shutdown() -> None:
    global _service
    if _service is not None:
        current, _service = _service, None
        await current.aclose()
    telemetry().shutdown()
