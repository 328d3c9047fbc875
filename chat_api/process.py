"""Process-wide tuning, done in this one place and only when asked (never as a side effect of
importing a module): the levels of the SDKs' loggers, and the garbage collector; and the
throttle every repeated warning goes through."""

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


class OncePer:
    """Says yes at most once per `seconds`: for a warning that a flood of requests would
    otherwise repeat on every one of them."""

    def __init__(self, seconds: float = 60.0) -> None:
        self._seconds = seconds
        self._last = -seconds

    def due(self, now: float) -> bool:
        """Whether to speak at `now` (seconds on the caller's clock); if so, the wait restarts."""
        if now - self._last < self._seconds:
            return False
        self._last = now
        return True


def quiet_sdk_loggers() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# Loggers that write one INFO record per request in the Azure Functions Python worker: uvicorn's
# access line, and the runtime's own invocation notes (function name, request received, response
# sent). The Functions host already records every request.
PER_REQUEST_LOGGERS = ("uvicorn.access", "azure.functions")


def quiet_per_request_logs() -> None:
    """In the worker each of those records is formatted and sent to the host: together they cost
    about half a millisecond of CPU per answer, 45% over the app's own (measured through the
    Functions runtime, see the README). Warnings and errors still pass. Called once the server is
    up, after uvicorn has configured its loggers."""
    for name in PER_REQUEST_LOGGERS:
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
    quiet_per_request_logs()
    tune_garbage_collector()
