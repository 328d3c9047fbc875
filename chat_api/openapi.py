"""The OpenAPI 3.1 document, generated from the same pydantic models the handlers use."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from pydantic.json_schema import models_json_schema

from chat_api import protocol

_REF = "#/components/schemas/{model}"


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meanings = {
        400: "Malformed JSON or a body of the wrong shape.",
        413: "Over the size limits (body, message count or message length).",
        415: "The body is not JSON.",
        429: "The model is rate limited; the Retry-After header says when to retry.",
        502: "The model service failed.",
        503: "The model or search service is unavailable.",
        504: "The model service timed out.",
    }
    return {str(s): {"description": meanings[s], "content": _json("ErrorBody")} for s in statuses}


@cache
def document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (protocol.ChatRequest, "validation"),
            (protocol.Completion, "serialization"),
            (protocol.StreamLine, "serialization"),
            (protocol.ErrorBody, "serialization"),
            (protocol.Health, "serialization"),
        ],
        ref_template=_REF,
    )
    request_body = {"required": True, "content": _json("ChatRequest")}
    failures = _errors(400, 413, 415, 429, 502, 503, 504)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chat API",
            "version": "1.0.0",
            "description": "The Microsoft AI Chat Protocol over HTTP: streamed (NDJSON) and "
            "buffered chat completions, optionally grounded in retrieved documents.",
        },
        "paths": {
            "/api/chat/stream": {
                "post": {
                    "operationId": "chatStream",
                    "summary": "Answer the last user message as a stream of NDJSON lines.",
                    "requestBody": request_body,
                    "responses": {
                        "200": {
                            "description": "One JSON object per line; the last line carries "
                            "context.finish_reason, or is an error line when the answer failed.",
                            "content": {
                                "application/x-ndjson": {
                                    "schema": {"$ref": _REF.format(model="StreamLine")}
                                }
                            },
                        },
                        **failures,
                    },
                }
            },
            "/api/chat": {
                "post": {
                    "operationId": "chat",
                    "summary": "Answer the last user message as one completion.",
                    "requestBody": request_body,
                    "responses": {
                        "200": {"description": "The answer.", "content": _json("Completion")},
                        **failures,
                    },
                }
            },
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "What the service runs with; never a secret.",
                    "responses": {"200": {"description": "Healthy.", "content": _json("Health")}},
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": schemas["$defs"]},
    }


@cache
def document_bytes() -> bytes:
    return orjson.dumps(document())
