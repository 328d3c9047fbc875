"""What a route returns, independent of any web framework: a `Reply` (status, body, media type,
headers), and the replies for an error, which carry the request's reference so that it finds the
request's trace and log lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chat_api import errors, wire
from chat_api.answer_lines import AnswerLines
from chat_api.errors import ChatError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes | AnswerLines
    media_type: str = wire.JSON
    headers: dict[str, str] = field(default_factory=dict)
    # While a streamed body is silent this long, a keep-alive line is sent; None: never.
    keepalive_seconds: float | None = None
    error: ChatError | None = None


def error_reply(error: ChatError, ref: str = "") -> Reply:
    """The error body and status; `ref` finds the request's trace and log lines."""
    log.info("request answered with %s %s (ref %s)", error.status, error.code, ref or "none")
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
        # A page on another origin (the Static Web App calling the Function App) may read it:
        # the platform's CORS adds the allowed origin but exposes no response headers.
        headers["Access-Control-Expose-Headers"] = "Retry-After"
    return Reply(error.status, wire.error_body(error, ref), wire.JSON, headers, error=error)


def internal_error_reply(exc: BaseException, ref: str = "") -> Reply:
    """The JSON 500 for what a route raised that nothing mapped, logged with its traceback (for
    the operator) and never sent to the client as text."""
    log.error("unexpected failure in a route: %s", type(exc).__name__, exc_info=exc)
    return error_reply(errors.internal(), ref)
