"""The model service's failures, by name, as errors of the table in `chat_api/errors.py`, and the
one place that maps what the service answers to them: HTTP statuses, error bodies, `Retry-After`
headers and the OpenAI SDK's exceptions (whatever else escapes an answer is an `internal_error`).
The table says what a client can be told; this module, how an upstream failure is sorted into it."""

from __future__ import annotations

import asyncio
import logging
import math
import sys

from chat_api.errors import ChatError, Code, error, internal

log = logging.getLogger(__name__)

# What OpenAI and Azure OpenAI call a content-filter refusal, as an error code and as a
# finish_reason: an upstream value, which happens to be spelled as our own code.
UPSTREAM_CONTENT_FILTER = "content_filter"


def rate_limited(retry_after: int) -> ChatError:
    return error(
        Code.RATE_LIMITED,
        f"The model is busy (rate limited). Try again in {retry_after} seconds.",
        retry_after=retry_after,
    )


def model_unavailable() -> ChatError:
    return error(Code.MODEL_UNAVAILABLE)


def model_failed() -> ChatError:
    return error(Code.MODEL_ERROR)


def model_timeout() -> ChatError:
    return error(Code.MODEL_TIMEOUT)


def stream_interrupted() -> ChatError:
    return error(Code.STREAM_INTERRUPTED)


def content_filtered() -> ChatError:
    return error(Code.CONTENT_FILTER)


def from_exception(exc: BaseException) -> ChatError:
    """Map any exception raised while answering to what the client may be told."""
    if isinstance(exc, ChatError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return model_timeout()
    # The SDK's exceptions can only come from the SDK: never import it just to check.
    openai = sys.modules.get("openai")
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):
            return model_timeout()
        if isinstance(exc, openai.APIConnectionError):
            return model_unavailable()
        if isinstance(exc, openai.APIStatusError):
            return from_status(exc.status_code, _error_code(exc), exc.response.headers)
    log.error("unexpected failure while answering: %s", type(exc).__name__, exc_info=exc)
    return internal()


def from_status(status: int, code: str | None, headers: object) -> ChatError:
    error = _from_status(status, code, headers)
    error.upstream_status = status
    return error


def _from_status(status: int, code: str | None, headers: object) -> ChatError:
    if status == 429:
        return rate_limited(retry_after_seconds(headers) or 1)
    if code == UPSTREAM_CONTENT_FILTER:
        return content_filtered()
    if status in (408, 504):
        return model_timeout()
    if status in (502, 503):
        return model_unavailable()
    return model_failed()


def retry_after_seconds(headers: object) -> int | None:
    """Seconds to wait, from `retry-after-ms` or `retry-after`; None when absent or a date."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = get(name)
        if value:
            try:
                seconds = float(value) / divisor
            except ValueError:
                continue
            if seconds >= 0:
                return max(1, math.ceil(seconds))
    return None


def _error_code(exc: object) -> str | None:
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    return body_error_code(getattr(exc, "body", None))


def body_error_code(body: object) -> str | None:
    """The `code` of an OpenAI-style error body, `{"error": {"code": ...}}`, if it has one."""
    inner = body.get("error", body) if isinstance(body, dict) else None
    code = inner.get("code") if isinstance(inner, dict) else None
    return code if isinstance(code, str) else None
