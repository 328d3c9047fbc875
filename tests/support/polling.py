"""Waiting for something a server receives in another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def wait_for(found: Callable[[], _T], timeout: float = 20.0) -> _T:
    """What `found()` returns once it is truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("not received in time")
