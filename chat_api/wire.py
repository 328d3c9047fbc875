"""The wire format, written in one place: events to NDJSON lines, events to one completion,
errors to the JSON error body. Both routes and both streaming modes use only these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from chat_api.errors import ChatError
from chat_api.events import Citation, Citations, End, Event, Failure, KeepAlive, Step, TextDelta

NDJSON = "application/x-ndjson"
JSON = "application/json"
# On every API response: the body is only what its type says, and answers are never cached
# (they are one person's conversation).
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

# Text deltas are the hot path: one line per model chunk, so the constant parts are prebuilt.
_DELTA_HEAD = b'{"delta":{"role":"assistant","content":'
_DELTA_TAIL = b"}}\n"


def ndjson_line(event: Event | KeepAlive) -> bytes:
    if type(event) is TextDelta:
        return _DELTA_HEAD + orjson.dumps(event.text) + _DELTA_TAIL
    return orjson.dumps(_line_object(event)) + b"\n"


def _line_object(event: Event | KeepAlive) -> dict[str, Any]:
    if isinstance(event, Failure):
        return error_object(event.error, event.ref)
    context: dict[str, Any]
    if isinstance(event, KeepAlive):
        return {"delta": {"role": "assistant"}, "context": {"keep_alive": True}}
    if isinstance(event, Step):
        context = {"step": _step_object(event)}
    elif isinstance(event, Citations):
        context = {"citations": [_citation_object(c) for c in event.items]}
    elif isinstance(event, End):
        context = {"finish_reason": event.finish_reason, "usage": event.usage}
        if event.answer_id:
            context["answer_id"] = event.answer_id
        if event.no_source:
            context["no_source"] = True
    else:  # pragma: no cover - TextDelta is handled by the fast path
        return {"delta": {"role": "assistant", "content": event.text}}
    return {"delta": {"role": "assistant"}, "context": context}


# Sent by the streamed response itself while an answer is silent (see asgi.LineStream).
KEEPALIVE_LINE = ndjson_line(KeepAlive())


def _step_object(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"title": step.title, "detail": step.detail}
    if step.elapsed_ms is not None:
        out["elapsed_ms"] = step.elapsed_ms
    if step.id:
        out["id"] = step.id
        if step.append:
            out["append"] = True
    return out


def _citation_object(citation: Citation) -> dict[str, str]:
    return {
        "id": citation.id,
        "title": citation.title,
        "url": citation.url,
        "snippet": citation.snippet,
    }


def completion_body(events: Iterable[Event], session_state: Any = None) -> bytes:
    """One `POST /api/chat` body from a finished answer's events (which hold no Failure)."""
    steps: list[dict[str, Any]] = []
    citations: list[dict[str, str]] = []
    parts: list[str] = []
    end = End()
    for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, Step):
            if event.append and steps and steps[-1].get("id") == event.id:
                steps[-1]["detail"] += event.detail  # one step per thought, whole
            else:
                steps.append(_step_object(event))
        elif isinstance(event, Citations):
            citations.extend(_citation_object(c) for c in event.items)
        elif isinstance(event, End):
            end = event
    context: dict[str, Any] = {
        "steps": steps,
        "citations": citations,
        "finish_reason": end.finish_reason,
        "usage": end.usage,
        "answer_id": end.answer_id,
    }
    if end.no_source:
        context["no_source"] = True
    return orjson.dumps(
        {
            "message": {"role": "assistant", "content": "".join(parts)},
            "context": context,
            "sessionState": session_state,
        }
    )


def error_object(error: ChatError, ref: str = "") -> dict[str, Any]:
    detail: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.retry_after is not None:
        # In the body as well as the Retry-After header: a stream's last line has no headers.
        detail["retry_after_seconds"] = error.retry_after
    if ref:
        detail["ref"] = ref  # finds the request's trace and log lines
    return {"error": detail}


def error_body(error: ChatError, ref: str = "") -> bytes:
    return orjson.dumps(error_object(error, ref))


def json_body(value: Any) -> bytes:
    return orjson.dumps(value)
