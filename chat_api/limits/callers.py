"""Saying loudly when the app cannot tell its callers apart.

Per-client limits are only as good as the address the platform reports. When callers look alike
(no readable address; behind a front end, a private or loopback address, which is a proxy's; or
one address for most of the traffic), they all share one client's limits. The app still answers,
but logs a WARNING at most once a minute that says what to fix, and counts every such request
in a metric (`chat.limits.signals`). Nothing logged names an address.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chat_api.limits.client import Caller
from chat_api.process import OncePer

log = logging.getLogger("chat_api.limits.limiter")

# One address for most traffic: over half of at least this many requests in a minute.
_MOST_TRAFFIC_SHARE = 0.5
_MOST_TRAFFIC_MIN_REQUESTS = 50
_TRACKED = 1_000
_FIX = (
    "set CHAT_CLIENT_ADDRESS_HEADER to the header your front end sets to the client's address, "
    "or CHAT_FRONT_DOOR_ID behind Azure Front Door (docs/deploy.md, 'Behind a front end')"
)
_WHY = {
    "unknown": "requests came with no readable client address{source}: they share one limit",
    "private": "requests came from a private or loopback address{source}, a proxy's: everyone "
    "behind it shares one limit",
    "one_address": "one address sent most requests in the last minute{source}: a proxy's? "
    "everyone behind it shares one limit",
}


class CallerWatch:
    def __init__(
        self,
        header: str,
        signal: Callable[[str], None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Without a front end (`make run`) loopback and private peers are normal.
        self._behind_front_end = bool(header)
        self._source = f" (header {header})" if header else ""
        self._signal = signal
        self._clock = clock
        self._warning = OncePer(60.0)
        self._minute = 0
        self._seen: dict[str, int] = {}
        self._requests = 0

    def saw(self, caller: Caller) -> None:
        if caller.kind == "unknown":
            self._look_alike("unknown")
        elif caller.kind == "private" and self._behind_front_end:
            self._look_alike("private")
        elif self._behind_front_end:
            self._tally(caller.key)

    def _tally(self, key: str) -> None:
        minute = int(self._clock() // 60)
        if minute != self._minute:
            self._judge_minute()
            self._minute, self._seen, self._requests = minute, {}, 0
        self._requests += 1
        if key in self._seen:
            self._seen[key] += 1
        elif len(self._seen) < _TRACKED:
            self._seen[key] = 1

    def _judge_minute(self) -> None:
        if self._requests < _MOST_TRAFFIC_MIN_REQUESTS:
            return
        if max(self._seen.values()) > _MOST_TRAFFIC_SHARE * self._requests:
            self._look_alike("one_address")

    def _look_alike(self, reason: str) -> None:
        self._signal(f"callers_look_alike.{reason}")
        if self._warning.due(self._clock()):
            why = _WHY[reason].format(source=self._source)
            log.warning("callers cannot be told apart: %s; %s", why, _FIX)
