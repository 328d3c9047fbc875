"""Waiting for something another process does, by polling it, never by sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

# Long enough for a busy machine; a condition that holds ends the wait at once.
PATIENCE_SECONDS = 30.0


def wait_until(condition: Callable[[], bool], timeout: float = PATIENCE_SECONDS) -> bool:
    """True as soon as `condition()` holds; False if it still does not after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
