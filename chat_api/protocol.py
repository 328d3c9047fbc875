"""The request and response shapes of the Microsoft AI Chat Protocol, as pydantic models.

Requests are validated with these; the OpenAPI document is generated from these. The bytes of
responses are written by `wire.py`, which these models describe.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from chat_api.errors import Code


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    role: Literal["user", "assistant"]
    content: str


class Overrides(BaseModel):
    """Per-request options, all optional."""

    model_config = ConfigDict(extra="forbid", strict=True)

    retrieval: bool | None = Field(
        default=None, description="false answers without searching (plain chat)."
    )
    top: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="How many passages to retrieve (default CHAT_RETRIEVAL_TOP, 3).",
    )
    semantic_ranker: bool | None = Field(
        default=None,
        description="false turns Azure AI Search's semantic ranker off for this request; it is "
        "on only where the server's AZURE_SEARCH_SEMANTIC_RANKER says so (true changes nothing).",
    )
    temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Sampling temperature passed to the model. Reasoning models take none: "
        "setting it for one is a 400.",
    )


MAX_PAGE_URL_CHARS = 2048
MAX_PAGE_TITLE_CHARS = 300


def _web_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https address")
    return url


class Page(BaseModel):
    """The page a question was asked on (the widget sends it): the model is told where the
    visitor is, and retrieval prefers that page's passages. Data, never instructions."""

    model_config = ConfigDict(extra="ignore", strict=True)

    url: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=MAX_PAGE_URL_CHARS),
        AfterValidator(_web_address),
    ] = Field(description="The page's address: http or https.")
    title: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_PAGE_TITLE_CHARS)
    ] = Field(default="", description="The page's title.")


class RequestContext(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    overrides: Overrides = Field(default_factory=Overrides)
    page: Page | None = Field(
        default=None, description="The page the question was asked on, when it was asked on one."
    )


ANSWER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_COMMENT_CHARS = 1000


class FeedbackRequest(BaseModel):
    """The body of `POST /api/feedback`: a visitor's rating of one answer."""

    model_config = ConfigDict(extra="forbid", strict=True)

    answer_id: str = Field(
        pattern=ANSWER_ID_PATTERN,
        description="The answer's `context.answer_id`, from its last line or its completion.",
    )
    rating: Literal["up", "down"]
    comment: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT_CHARS)
    ] = Field(default="", description="What the visitor said about it (optional, short).")
    page: Page | None = Field(
        default=None, description="The page the answer was read on, when there was one."
    )


class ChatRequest(BaseModel):
    """The body of both POST routes."""

    model_config = ConfigDict(extra="ignore", strict=True)

    messages: list[Message] = Field(min_length=1)
    context: RequestContext = Field(default_factory=RequestContext)
    sessionState: Any = None

    @field_validator("sessionState")
    @classmethod
    def _can_be_sent_back(cls, value: Any) -> Any:
        """The state is echoed in the answer: refuse now what could not be written back then
        (JSON nested deeper than the writer allows), before a model is paid for."""
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            raise ValueError("cannot be sent back (nested too deeply)") from None
        return value


# ---- Responses: documented shapes of what wire.py writes -----------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(
        description="A stable code from the table of errors (the error responses list them).",
        examples=[code.value for code in Code],
    )
    message: str = Field(description="What went wrong, for a person; never upstream detail.")
    retry_after_seconds: int | None = Field(
        default=None,
        description="When the same request may be sent again, in seconds; beside a Retry-After "
        "header, and in a stream's error line, which has no headers.",
    )
    ref: str | None = Field(
        default=None,
        description="A short reference to this request, to quote when reporting the problem: "
        "it finds the request's trace and log lines.",
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class StepModel(BaseModel):
    title: str
    detail: str = ""
    elapsed_ms: int | None = None
    id: str | None = Field(
        default=None,
        description="Set on a step that grows (the model's thinking): later lines with the same "
        "id and `append: true` carry more of its detail.",
    )
    append: bool | None = Field(
        default=None, description="true: add `detail` to the earlier step with this `id`."
    )


class CitationModel(BaseModel):
    id: str
    title: str
    url: str
    snippet: str


class DeltaContent(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None


ANSWER_ID = "A unique id of this answer, which `POST /api/feedback` refers to."


class DeltaContext(BaseModel):
    step: StepModel | None = None
    citations: list[CitationModel] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    answer_id: str | None = Field(
        default=None, description=f"On the last line of a complete answer: {ANSWER_ID}"
    )
    # On the end line when retrieval found nothing relevant: the answer says so, no model wrote it.
    no_source: bool | None = None


class StreamLine(BaseModel):
    """One NDJSON line of `POST /api/chat/stream`: a delta, or an error as the last line."""

    delta: DeltaContent | None = None
    context: DeltaContext | None = None
    error: ErrorDetail | None = None


class CompletionContext(BaseModel):
    steps: list[StepModel] = Field(default_factory=list)
    citations: list[CitationModel] = Field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, Any] = Field(default_factory=dict)
    answer_id: str = Field(description=ANSWER_ID)
    no_source: bool | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Completion(BaseModel):
    """The body of `POST /api/chat`."""

    message: AssistantMessage
    context: CompletionContext
    sessionState: Any = None


class Health(BaseModel):
    """Up, and whether it streams; outside Azure also what answers (in Azure the rest is
    left out: which model and backends an app uses is no caller's business)."""

    status: Literal["ok"]
    streaming: bool
    mode: Literal["model", "offline"] | None = None
    model_host: str | None = None
    model: str | None = None
    retrieval: str | None = None
