"""The page trims history to what the server accepts: its copy of the server's limits must be
the server's defaults."""

from __future__ import annotations

import math
import re
from pathlib import Path

from chat_api.settings import Limits

PAGE = Path(__file__).resolve().parents[3] / "static_web" / "src" / "conversation.js"


def _page_limit(name: str) -> int:
    match = re.search(rf"{name}: ([\d_ *]+),", PAGE.read_text("utf-8"))
    assert match, f"{name} is not in the page's SERVER_LIMITS"
    return math.prod(int(factor) for factor in match.group(1).replace("_", "").split("*"))


def test_the_page_knows_the_server_default_limits():
    limits = Limits()

    assert _page_limit("maxMessages") == limits.max_messages
    assert _page_limit("maxMessageChars") == limits.max_message_chars
    assert _page_limit("maxBodyBytes") == limits.max_body_bytes
    assert _page_limit("promptTokens") == limits.max_history_tokens
