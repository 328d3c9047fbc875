"""Where each count lives in the store, without keeping an address.

- A client's or a network's row key is a keyed hash (HMAC-SHA256) of its key with a secret the
  app is given when it is provisioned (`CHAT_LIMITS_KEY_SECRET`): the store, and every request
  to it (URLs, spans, logs), hold no address, and without the secret a row cannot be matched to
  an address by trying all of them.
- Partitions are the UTC day and two hex digits of that hash: 256 partitions a day, so the
  store's target per partition (about 2,000 operations a second) is not the app's ceiling.
- The app's daily total is spread over rows, one per process (instance) that counted that day,
  in one partition of its own: each row has one writer, so instances never contend for it, and
  the total is one query of that partition (`Limiter` adds the rows up).
- Days sort as text (`YYYYMMDD`), so "every partition before the day before yesterday" is one
  comparison (`CounterStore.delete_before`).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

_DAY_SECONDS = 86_400


_MAX_CACHED = 20_000


class Rows:
    def __init__(self, secret: str = "", instance: str = "") -> None:
        # No secret configured: one made for this process (then instances sharing a store do
        # not share clients' counts; `create_limiter` warns).
        self._secret = (secret or secrets.token_hex(32)).encode()
        self.instance = instance or secrets.token_hex(6)
        # A client asks several times a day: its hash is made once (the cache is cleared when
        # full, which bounds it against a flood of distinct addresses).
        self._digests: dict[str, str] = {}

    def counted(self, day: str, key: str) -> tuple[str, str]:
        """The record of a client or network key on a day."""
        digest = self._digests.get(key)
        if digest is None:
            if len(self._digests) >= _MAX_CACHED:
                self._digests.clear()
            digest = hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]
            self._digests[key] = digest
        return f"{day}-{digest[:2]}", digest

    def app(self, day: str) -> tuple[str, str]:
        """This process's share of the app's total on a day."""
        return app_partition(day), f"app-{self.instance}"


def app_partition(day: str) -> str:
    return f"{day}-app"


def day_of(now: float) -> str:
    """The UTC day, as `YYYYMMDD` (made once a day)."""
    number = int(now // _DAY_SECONDS)
    if number != _today[0]:
        _today[:] = [number, _format_day(now)]
    return str(_today[1])


def _format_day(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%d")


_today: list[int | str] = [-1, ""]


def oldest_kept(now: float) -> str:
    """The first partition kept: yesterday's (its counts can matter until the day turns
    everywhere); everything before it is deleted."""
    return _format_day(now - _DAY_SECONDS)
