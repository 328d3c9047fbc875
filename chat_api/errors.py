"""One error type for everything a client can be told, and the one place that maps upstream
exceptions to it. Messages here are written for people and never carry upstream detail."""

from __future__ import annotations

import asyncio
import logging
import math
import sys

log = logging.getLogger(__name__)


class ChatError(Exception):
    """A failure with a stable code, an HTTP status and a message safe to show anyone."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"ChatError({self.status}, {self.code!r})"


def bad_request(message: str, code: str = "invalid_request") -> ChatError:
    return ChatError(400, code, message)


def too_large(message: str) -> ChatError:
    return ChatError(413, "too_large", message)


def rate_limited(retry_after: int) -> ChatError:
    return ChatError(
        429,
        "rate_limited",
        f"The model is busy (rate limited). Try again in {retry_after} seconds.",
        retry_after=retry_after,
    )


def model_unavailable() -> ChatError:
    return ChatError(503, "model_unavailable", "The model service is unavailable. Try again soon.")


def model_failed() -> ChatError:
    return ChatError(502, "model_error", "The model service returned an error.")


def model_timeout() -> ChatError:
    return ChatError(504, "model_timeout", "The model service did not answer in time.")


def stream_interrupted() -> ChatError:
    return ChatError(
        502, "stream_interrupted", "The model's answer was cut off before it finished."
    )


def content_filtered() -> ChatError:
    return ChatError(
        400,
        "content_filter",
        "The request or answer was blocked by the model service's content filter.",
    )


SEARCH_UNAVAILABLE = "search_unavailable"


def search_unavailable(
    message: str = "The search service is unavailable, so the answer cannot use the documents. "
    "Try again soon.",
) -> ChatError:
    return ChatError(503, SEARCH_UNAVAILABLE, message)


def search_timeout() -> ChatError:
    return search_unavailable("The search service did not answer in time. Try again soon.")


def from_search_exception(exc: BaseException) -> ChatError:
    """Map a failed search (or the search client's credential) to what the client may be told,
    logging the reason without addresses, keys or the query."""
    if isinstance(exc, ChatError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        log.warning("search did not answer within the time allowed")
        return search_timeout()
    from azure.core import exceptions as azure_errors

    if isinstance(exc, azure_errors.ResourceNotFoundError):
        log.warning("search index not found (fill it with make ingest)")
    elif isinstance(exc, azure_errors.ClientAuthenticationError):
        status = getattr(exc, "status_code", None)
        log.warning("search refused the app's credentials (status %s)", status or "none")
    elif isinstance(exc, azure_errors.HttpResponseError):
        log.warning("search failed with status %s", exc.status_code)
    elif isinstance(exc, azure_errors.AzureError):
        log.warning("search could not be reached: %s", type(exc).__name__)
    else:
        log.error("unexpected failure while searching: %s", type(exc).__name__, exc_info=exc)
    return search_unavailable()


def internal() -> ChatError:
    return ChatError(500, "internal_error", "Something went wrong on the server.")


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
    if status == 429:
        return rate_limited(retry_after_seconds(headers) or 1)
    if code == "content_filter":
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
