"""Every error a client can be told, in one table (code, status, meaning, retryable), the
`ChatError` made from a row, and the errors of the request, the app's limits and the search by
name. The OpenAPI document, docs/api.md and the page's messages are all checked against `TABLE`.
Messages are written for people and never carry upstream detail. The model service's failures
are named, and what it answers mapped to the table, in `chat_api/model_errors.py`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """The stable, machine-readable codes of `{"error": {"code": ...}}`."""

    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"
    CONTENT_FILTER = "content_filter"
    CLIENT_DISCONNECTED = "client_disconnected"
    TOO_LARGE = "too_large"
    FORBIDDEN = "forbidden"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    BUDGET_EXHAUSTED = "budget_exhausted"
    INTERNAL_ERROR = "internal_error"
    MODEL_ERROR = "model_error"
    STREAM_INTERRUPTED = "stream_interrupted"
    MODEL_UNAVAILABLE = "model_unavailable"
    SEARCH_UNAVAILABLE = "search_unavailable"
    MODEL_TIMEOUT = "model_timeout"
    BUSY = "busy"
    TIMEOUT = "timeout"


class Limit(StrEnum):
    """Which of the app's own limits refused a request (as opposed to a refusal by the model
    service): telemetry tells them apart, as a client's `rate_limited` and the model's share
    a code."""

    REQUESTS_PER_MINUTE = "requests_per_minute"
    TOKENS_PER_DAY = "tokens_per_day"
    DAILY_BUDGET = "daily_budget"
    CONCURRENT_ANSWERS = "concurrent_answers"
    PROMPT_BUDGET = "prompt_budget"
    NETWORK_REQUESTS_PER_MINUTE = "network_requests_per_minute"
    NETWORK_TOKENS_PER_DAY = "network_tokens_per_day"


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """One row of the table: the HTTP status, what it means (for the docs), whether the same
    request may succeed if sent again later, and the message a client is told by default."""

    status: int
    meaning: str
    retryable: bool
    message: str


TABLE: dict[str, ErrorKind] = {
    Code.INVALID_JSON: ErrorKind(
        400, "The body is not valid JSON.", False, "The body is not valid JSON."
    ),
    Code.INVALID_REQUEST: ErrorKind(
        400,
        "The body has the wrong shape (see ChatRequest), or `sessionState` cannot be sent back.",
        False,
        "The request is not valid.",
    ),
    Code.CONTENT_FILTER: ErrorKind(
        400,
        "The model service's content filter blocked the request or the answer.",
        False,
        "The request or answer was blocked by the model service's content filter.",
    ),
    Code.CLIENT_DISCONNECTED: ErrorKind(
        400,
        "The client went away before the request body was complete.",
        True,
        "The request was not completed.",
    ),
    Code.FORBIDDEN: ErrorKind(
        403,
        "The request did not come through the app's Azure Front Door (`CHAT_FRONT_DOOR_ID`).",
        False,
        "This API is only reachable through its front end.",
    ),
    Code.TOO_LARGE: ErrorKind(
        413,
        "Over the body, message count or message length limits.",
        False,
        "The request is too large.",
    ),
    Code.UNSUPPORTED_MEDIA_TYPE: ErrorKind(
        415,
        "The body is not sent as `application/json`.",
        False,
        "Send the request as application/json.",
    ),
    Code.RATE_LIMITED: ErrorKind(
        429,
        "The model is rate limited, or this client is over its requests per minute or tokens "
        "per day; `Retry-After` (or `retry_after_seconds`) says when to retry.",
        True,
        "The model is busy (rate limited). Try again soon.",
    ),
    Code.BUDGET_EXHAUSTED: ErrorKind(
        429,
        "The app's daily model-token budget is spent; `Retry-After` says when the UTC day turns.",
        True,
        "This app has used its model budget for today. It starts again at midnight UTC.",
    ),
    Code.INTERNAL_ERROR: ErrorKind(
        500,
        "An unexpected failure in the app; the server log has the details.",
        True,
        "Something went wrong on the server.",
    ),
    Code.MODEL_ERROR: ErrorKind(
        502,
        "The model service returned an error, or an answer of an unexpected shape.",
        True,
        "The model service returned an error.",
    ),
    Code.STREAM_INTERRUPTED: ErrorKind(
        502,
        "The model's answer was cut off before it finished.",
        True,
        "The model's answer was cut off before it finished.",
    ),
    Code.MODEL_UNAVAILABLE: ErrorKind(
        503,
        "The model service could not be reached, or the app could not sign in to it.",
        True,
        "The model service is unavailable. Try again soon.",
    ),
    Code.SEARCH_UNAVAILABLE: ErrorKind(
        503,
        "The search failed or timed out (unless `CHAT_SEARCH_FAILURE=continue`, which answers "
        "without sources and says so in a step).",
        True,
        "The search service is unavailable, so the answer cannot use the documents. "
        "Try again soon.",
    ),
    Code.MODEL_TIMEOUT: ErrorKind(
        504,
        "The model service did not answer in time.",
        True,
        "The model service did not answer in time.",
    ),
    Code.BUSY: ErrorKind(
        503,
        "This instance is answering as many questions as it may (`CHAT_MAX_CONCURRENT_ANSWERS`); "
        "`Retry-After: 1`.",
        True,
        "The server is answering too many questions. Try again in a moment.",
    ),
    Code.TIMEOUT: ErrorKind(
        504,
        "The answer took longer than `CHAT_ANSWER_TIMEOUT_SECONDS`.",
        True,
        "The answer took longer than the time allowed.",
    ),
}


class ChatError(Exception):
    """A failure with a stable code, an HTTP status and a message safe to show anyone."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        limit: Limit | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.limit = limit  # set when one of the app's own limits refused the request
        # The status the model service answered with, for the app's own decisions (ingestion
        # waits out a 401/403 while a role assignment applies); never sent to a client.
        self.upstream_status: int | None = None

    def __repr__(self) -> str:
        return f"ChatError({self.status}, {self.code!r})"

    @property
    def retryable(self) -> bool:
        kind = TABLE.get(self.code)
        return kind.retryable if kind is not None else False


def markdown_table() -> str:
    """The table of codes as docs/api.md shows it (a test keeps the page in step)."""
    rows = ["| status | code | meaning | retry |", "|---|---|---|---|"]
    for code, kind in sorted(TABLE.items(), key=lambda item: item[1].status):
        retry = "yes" if kind.retryable else "no"
        rows.append(f"| {kind.status} | `{code}` | {kind.meaning} | {retry} |")
    return "\n".join(rows) + "\n"


def codes_by_status() -> dict[int, list[str]]:
    """The codes of the table grouped by HTTP status, in the table's order."""
    grouped: dict[int, list[str]] = {}
    for code, kind in TABLE.items():
        grouped.setdefault(kind.status, []).append(code)
    return dict(sorted(grouped.items()))


def error(
    code: Code,
    message: str | None = None,
    *,
    retry_after: int | None = None,
    limit: Limit | None = None,
) -> ChatError:
    """The ChatError for a code of the table, with its status and, unless given, its message."""
    kind = TABLE[code]
    return ChatError(
        kind.status, code, message or kind.message, retry_after=retry_after, limit=limit
    )


def bad_request(message: str, code: Code = Code.INVALID_REQUEST) -> ChatError:
    return error(code, message)


def too_large(message: str) -> ChatError:
    return error(Code.TOO_LARGE, message)


def unsupported_media_type() -> ChatError:
    return error(Code.UNSUPPORTED_MEDIA_TYPE)


def client_disconnected() -> ChatError:
    return error(Code.CLIENT_DISCONNECTED)


def client_rate_limited(
    retry_after: int, *, daily: bool = False, network: bool = False
) -> ChatError:
    """This client, or its network (IPv4 /24, IPv6 /48), sent more requests this minute, or
    used more tokens today, than it may."""
    what = "used its tokens for today" if daily else "sent too many requests"
    if network:
        limit = Limit.NETWORK_TOKENS_PER_DAY if daily else Limit.NETWORK_REQUESTS_PER_MINUTE
    else:
        limit = Limit.TOKENS_PER_DAY if daily else Limit.REQUESTS_PER_MINUTE
    return error(
        Code.RATE_LIMITED,
        f"Your {'network' if network else 'address'} has {what}. "
        f"Try again in {retry_after} seconds.",
        retry_after=retry_after,
        limit=limit,
    )


def budget_exhausted(retry_after: int) -> ChatError:
    """The whole app's daily model-token budget is spent; it turns at midnight UTC."""
    return error(
        Code.BUDGET_EXHAUSTED,
        "This app has used its model budget for today. It starts again at midnight UTC, "
        f"in {retry_after} seconds.",
        retry_after=retry_after,
        limit=Limit.DAILY_BUDGET,
    )


def busy() -> ChatError:
    """This process is answering as many questions as it may at once."""
    return error(Code.BUSY, retry_after=1, limit=Limit.CONCURRENT_ANSWERS)


def answer_timeout(seconds: float) -> ChatError:
    return error(Code.TIMEOUT, f"The answer took longer than the {seconds:g} seconds allowed.")


# Kept for callers that name the code by this constant.
SEARCH_UNAVAILABLE = Code.SEARCH_UNAVAILABLE


def search_unavailable(message: str | None = None) -> ChatError:
    return error(Code.SEARCH_UNAVAILABLE, message)


def search_timeout() -> ChatError:
    return search_unavailable("The search service did not answer in time. Try again soon.")


def internal() -> ChatError:
    return error(Code.INTERNAL_ERROR)
