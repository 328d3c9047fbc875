"""Process-wide tuning, done in this one place and only when asked (never as a side effect of
importing a module): the levels of the SDKs' loggers, and the garbage collector."""

from __future__ import annotations

import gc
import logging

# The SDKs log every request with its URL (and the Azure SDK its headers) at INFO: no internal
# addresses in the app's logs. Their warnings and errors still show.
QUIET_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "httpx2",
    "httpx",
)


def quiet_sdk_loggers() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def tune_garbage_collector() -> None:
    """Hundreds of open streams hold many live objects, and each full collection walks all of
    them while every stream waits (`make bench` saw chunk gaps grow by 70 ms at 500 streams).
    What start-up made lives as long as the process: move it out of the collector's sight, and
    collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def tune_for_serving() -> None:
    """Everything a process serving the API sets, once its long-lived objects are built."""
    quiet_sdk_loggers()
    tune_garbage_collector()
