"""The request and response shapes of the Microsoft AI Chat Protocol, as pydantic models.

Requests are validated with these; the OpenAPI document is generated from these. The bytes of
responses are written by `wire.py`, which these models describe.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
        description="true or false: Azure AI Search's semantic ranker on or off for this request "
        "(default AZURE_SEARCH_SEMANTIC_RANKER).",
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature passed to the model."
    )


class RequestContext(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    overrides: Overrides = Field(default_factory=Overrides)


class ChatRequest(BaseModel):
    """The body of both POST routes."""

    model_config = ConfigDict(extra="ignore", strict=True)

    messages: list[Message] = Field(min_length=1)
    context: RequestContext = Field(default_factory=RequestContext)
    sessionState: Any = None


# ---- Responses: documented shapes of what wire.py writes -----------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
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


class CitationModel(BaseModel):
    id: str
    title: str
    url: str
    snippet: str


class DeltaContent(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None


class DeltaContext(BaseModel):
    step: StepModel | None = None
    citations: list[CitationModel] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


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


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Completion(BaseModel):
    """The body of `POST /api/chat`."""

    message: AssistantMessage
    context: CompletionContext
    sessionState: Any = None


class Health(BaseModel):
    status: Literal["ok"]
    mode: Literal["model", "offline"]
    streaming: bool
    model_host: str
    model: str
    retrieval: str
