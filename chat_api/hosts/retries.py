"""Retrying model calls: throttling and transient failures are tried again with backoff,
honouring the model's Retry-After, while a time budget lasts; then the client is told."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from chat_api import model_errors, upstream
from chat_api.errors import ChatError

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_T = TypeVar("_T")


class UpstreamFailure(Exception):
    """One failed attempt at a model call: what the client would be told, and whether and when
    to try again."""

    def __init__(self, error: ChatError, *, retryable: bool, retry_after: int | None = None):
        super().__init__(error.code)
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after


async def with_retries(attempt: Callable[[], Awaitable[_T]], budget_seconds: float) -> _T:
    """`attempt()` until it succeeds, fails for good, or the next wait would pass the budget;
    then raise the ChatError the client should see."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_seconds
    tries = 0
    while True:
        try:
            return await attempt()
        except UpstreamFailure as failure:
            hint = failure.retry_after
            if hint is not None:
                delay = float(hint)
            else:
                delay = min(8.0, 0.5 * 2**tries) * random.uniform(0.8, 1.2)
            tries += 1
            retrying = failure.retryable and loop.time() + delay <= deadline
            upstream.upstream_failure(failure.error.code, retrying=retrying)
            if not retrying:
                raise failure.error from None
            log.info("model call failed (%s), retry %d in %.1fs", failure.error.code, tries, delay)
            await asyncio.sleep(delay)


async def sdk_call(call: Awaitable[_T]) -> _T:
    """Await an OpenAI SDK call, turning its exceptions into one UpstreamFailure."""
    import openai

    try:
        return await call
    except openai.APIStatusError as exc:
        raise UpstreamFailure(
            model_errors.from_exception(exc),
            retryable=exc.status_code in RETRYABLE_STATUSES,
            retry_after=model_errors.retry_after_seconds(exc.response.headers),
        ) from None
    except (openai.APIConnectionError, TimeoutError) as exc:
        raise UpstreamFailure(model_errors.from_exception(exc), retryable=True) from None
