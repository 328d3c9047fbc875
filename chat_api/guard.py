"""The last line of defence of every route: whatever a handler raises that nothing else
mapped becomes a JSON `500 internal_error`, logged here with its traceback (for the operator)
and never sent to the client as text or as a traceback. Within the chat routes the service
itself answers it (`reply.internal_error_reply`), so the request's trace ends with it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable

from chat_api import errors, wire
from chat_api.events import Failure
from chat_api.reply import Reply, internal_error_reply

__all__ = ["internal_error_line", "internal_error_reply", "reply_safely"]

log = logging.getLogger(__name__)


async def reply_safely(handler: Callable[[], Reply | Awaitable[Reply]]) -> Reply:
    """`handler()`'s Reply, or the internal error's when it raises."""
    try:
        reply = handler()
        return await reply if inspect.isawaitable(reply) else reply
    except Exception as exc:
        return internal_error_reply(exc)


def internal_error_line(exc: BaseException, ref: str = "") -> bytes:
    """The last line of a stream that failed unexpectedly after it began; `ref` finds its trace."""
    log.error(
        "unexpected failure in a stream: %s (ref %s)",
        type(exc).__name__,
        ref or "none",
        exc_info=exc,
    )
    return wire.ndjson_line(Failure(errors.internal(), ref=ref))
