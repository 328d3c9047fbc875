"""The OpenAPI 3.1 document, generated from the same pydantic models the handlers use."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from pydantic.json_schema import models_json_schema

from chat_api import errors, protocol

_REF = "#/components/schemas/{model}"
# What a rating may be answered with: bad input, over a limit, a failure of the app.
FEEDBACK_FAILURES = ("400", "413", "415", "429", "500")


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}}


def _errors() -> dict[str, Any]:
    """One response per error status of the table, describing each of its codes."""
    responses: dict[str, Any] = {}
    for status, codes in errors.codes_by_status().items():
        lines = [f"`{code}`: {errors.TABLE[code].meaning}" for code in codes]
        responses[str(status)] = {"description": " ".join(lines), "content": _json("ErrorBody")}
    return responses


@cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chat API",
            "version": "1.0.0",
            "description": "The Microsoft AI Chat Protocol over HTTP: streamed (NDJSON) and "
            "buffered chat completions, optionally grounded in retrieved documents.",
        },
        "paths": _paths(),
        "components": {"schemas": _schemas()},
    }


def _schemas() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (protocol.ChatRequest, "validation"),
            (protocol.FeedbackRequest, "validation"),
            (protocol.Completion, "serialization"),
            (protocol.StreamLine, "serialization"),
            (protocol.ErrorBody, "serialization"),
            (protocol.Health, "serialization"),
        ],
        ref_template=_REF,
    )
    found: dict[str, Any] = schemas["$defs"]
    return found


def _paths() -> dict[str, Any]:
    failures = _errors()
    stream_lines = {
        "description": "One JSON object per line; the last line carries "
        "context.finish_reason, or is an error line when the answer failed.",
        "content": {"application/x-ndjson": {"schema": {"$ref": _REF.format(model="StreamLine")}}},
    }
    return {
        "/api/chat/stream": _post(
            "chatStream",
            "Answer the last user message as a stream of NDJSON lines.",
            "ChatRequest",
            {"200": stream_lines, **failures},
        ),
        "/api/chat": _post(
            "chat",
            "Answer the last user message as one completion.",
            "ChatRequest",
            {"200": {"description": "The answer.", "content": _json("Completion")}, **failures},
        ),
        "/api/feedback": _post(
            "feedback",
            "Rate an answer (by its context.answer_id), with an optional short comment.",
            "FeedbackRequest",
            {
                "204": {"description": "The rating is kept."},
                **{status: failures[status] for status in FEEDBACK_FAILURES},
            },
        ),
        "/api/health": _get(
            "health",
            "What the service runs with; never a secret.",
            {"description": "Healthy.", "content": _json("Health")},
        ),
        "/api/openapi.json": _get(
            "openapi",
            "This document.",
            {
                "description": "OpenAPI 3.1",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
        ),
    }


def _post(operation: str, summary: str, schema: str, responses: dict[str, Any]) -> dict[str, Any]:
    request_body = {"required": True, "content": _json(schema)}
    return {
        "post": {
            "operationId": operation,
            "summary": summary,
            "requestBody": request_body,
            "responses": responses,
        }
    }


def _get(operation: str, summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": operation, "summary": summary, "responses": {"200": ok}}}


@cache
def document_bytes() -> bytes:
    return orjson.dumps(document())
