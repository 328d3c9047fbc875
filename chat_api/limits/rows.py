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


class Rows:
    def __init__(self, secret: str = "", instance: str = "") -> None:
        # No secret configured: one made for this process (then instances sharing a store do
        # not share clients' counts; `create_limiter` warns).
        self._secret = (secret or secrets.token_hex(32)).encode()
        self.instance = instance or secrets.token_hex(6)

    def counted(self, day: str, key: str) -> tuple[str, str]:
        """The record of a client or network key on a day."""
        digest = hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{day}-{digest[:2]}", digest

    def app(self, day: str) -> tuple[str, str]:
        """This process's share of the app's total on a day."""
        return app_partition(day), f"app-{self.instance}"


def app_partition(day: str) -> str:
    return f"{day}-app"


def day_of(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%d")


def oldest_kept(now: float) -> str:
    """The first partition kept: yesterday's (its counts can matter until the day turns
    everywhere); everything before it is deleted."""
    return day_of(now - _DAY_SECONDS)
