"""chat_api/runtime.py: the one service of the process, and the process-wide tuning it applies
(chat_api/process.py)."""

from __future__ import annotations

import logging

import pytest

from chat_api import process, runtime


@pytest.fixture
def fresh_runtime(monkeypatch: pytest.MonkeyPatch):
    """No service yet, offline settings, and the garbage collector left alone."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "OPENAI_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHAT_RETRIEVAL", "off")
    monkeypatch.setattr(runtime, "_service", None)
    monkeypatch.setattr(process, "tune_garbage_collector", lambda: None)
    runtime.settings.cache_clear()
    levels = {name: logging.getLogger(name).level for name in process.PER_REQUEST_LOGGERS}
    for name in process.PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)  # as uvicorn and the worker leave them
    yield runtime
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    runtime.settings.cache_clear()


async def test_starting_the_service_quiets_the_per_request_logs_of_the_functions_worker(
    fresh_runtime,
):
    fresh_runtime.service()

    for name in process.PER_REQUEST_LOGGERS:
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    await fresh_runtime.shutdown()
