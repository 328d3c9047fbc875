"""The one ChatService of this process, created on first use inside the running event loop
(the HTTP clients bind to it) and reused by every request."""

from __future__ import annotations

from functools import cache

from chat_api import process
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
        process.tune_for_serving()
    return _service


async def shutdown() -> None:
    global _service
    if _service is not None:
        current, _service = _service, None
        await current.aclose()
    telemetry().shutdown()
