"""The key the limits' row keys are hashed with, generated once and kept.

The app hashes clients' addresses with it (CHAT_LIMITS_KEY_SECRET), so the limits table holds no
address; a new key would start every client's daily count again. The hook writes one into the
azd environment the first time and later runs keep it; infra/main.parameters.json passes it to
the app's settings. No I/O.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

KEY_VARIABLE = "CHAT_LIMITS_KEY_SECRET"


def key_to_record(env: Mapping[str, str]) -> str | None:
    """A new key to write into the environment, or None when an earlier run wrote one."""
    if env.get(KEY_VARIABLE, "").strip():
        return None
    return secrets.token_hex(32)
