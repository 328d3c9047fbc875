"""The OpenAPI 3.1 document, generated from the same pydantic models the handlers use."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from pydantic.json_schema import models_json_schema

from chat_api import errors, protocol

_REF = "#/components/schemas/{model}"


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
    failures = _errors()
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
