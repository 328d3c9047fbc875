"""The Responses API's streamed events, shaped as Azure OpenAI and OpenAI send them, for the
stand-in model server: an `event:` line naming each event, a `data:` line with its JSON (which
repeats the type and carries a sequence number), and no `[DONE]` at the end.

`response.created` and `response.completed` carry the whole response object, instructions
included, as the service's do; deltas carry item ids, indexes and an obfuscation string.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import orjson

# Reasoning models, as the service knows them: the o-series and GPT-5 (not its chat variants).
_REASONING = re.compile(r"^(?:.*/)?(?:o[1-9]|gpt-5(?!.*-chat))", re.IGNORECASE)
# What a reasoning model refuses (a 400 `unsupported_parameter`), per API.
REFUSED = {
    "responses": ("temperature", "top_p", "max_tokens", "max_completion_tokens"),
    "chat": ("temperature", "top_p", "max_tokens"),
}
# Never accepted by the Responses API, whatever the model.
UNKNOWN_TO_RESPONSES = ("max_tokens", "max_completion_tokens", "messages", "stream_options")
HIDDEN_REASONING_TOKENS = 8  # thinking a model does beyond what its summary says


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING.match(model))


def refused_parameter(body: dict[str, Any], api: str) -> str | None:
    """The first parameter the service would refuse in this request, if any."""
    if api == "responses":
        for name in UNKNOWN_TO_RESPONSES:
            if name in body:
                return name
    if is_reasoning_model(str(body.get("model", ""))):
        for name in REFUSED[api]:
            if name in body and not (api == "chat" and name == "temperature" and body[name] == 1):
                return name
    return None


class ResponseStream:
    """Builds one streamed response's events, numbered in order."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.sequence = itertools.count()
        self.id = f"resp_{time.time_ns():x}"
        self.created_at = int(time.time())
        self.reasoning_id = "rs_" + self.id[5:]
        self.message_id = "msg_" + self.id[5:]
        self.message_index = 0

    def response(
        self,
        status: str,
        output: list[dict[str, Any]] | None = None,
        usage: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = self.body
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body.get("model", "standin"),
            "output": output or [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {
                "effort": (body.get("reasoning") or {}).get("effort"),
                "summary": (body.get("reasoning") or {}).get("summary"),
            },
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
            **extra,
        }

    def event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": next(self.sequence), **fields}
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def created(self) -> bytes:
        return self.event("response.created", response=self.response("in_progress")) + self.event(
            "response.in_progress", response=self.response("in_progress")
        )

    # ---- Thinking (a reasoning item with summary parts) ----------------------------------------

    def reasoning_item(self, parts: list[str]) -> dict[str, Any]:
        return {
            "id": self.reasoning_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": text} for text in parts],
        }

    def reasoning_started(self) -> bytes:
        self.message_index = 1
        return self.event(
            "response.output_item.added", output_index=0, item=self.reasoning_item([])
        )

    def summary_part_added(self, index: int) -> bytes:
        return self.event(
            "response.reasoning_summary_part.added",
            item_id=self.reasoning_id,
            output_index=0,
            summary_index=index,
            part={"type": "summary_text", "text": ""},
        )

    def summary_delta(self, index: int, delta: str) -> bytes:
        return self.event(
            "response.reasoning_summary_text.delta",
            item_id=self.reasoning_id,
            output_index=0,
            summary_index=index,
            delta=delta,
            obfuscation="Xy9",
        )

    def summary_part_done(self, index: int, text: str) -> bytes:
        return self.event(
            "response.reasoning_summary_text.done",
            item_id=self.reasoning_id,
            output_index=0,
            summary_index=index,
            text=text,
        ) + self.event(
            "response.reasoning_summary_part.done",
            item_id=self.reasoning_id,
            output_index=0,
            summary_index=index,
            part={"type": "summary_text", "text": text},
        )

    def reasoning_done(self, parts: list[str]) -> bytes:
        return self.event(
            "response.output_item.done", output_index=0, item=self.reasoning_item(parts)
        )

    # ---- The answer (a message item) ---------------------------------------------------------

    def message_item(self, text: str, status: str) -> dict[str, Any]:
        content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        return {
            "id": self.message_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content if text or status != "in_progress" else [],
        }

    def message_started(self) -> bytes:
        index = self.message_index
        return self.event(
            "response.output_item.added",
            output_index=index,
            item=self.message_item("", "in_progress"),
        ) + self.event(
            "response.content_part.added",
            item_id=self.message_id,
            output_index=index,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        )

    def text_delta(self, delta: str) -> bytes:
        return self.event(
            "response.output_text.delta",
            item_id=self.message_id,
            output_index=self.message_index,
            content_index=0,
            delta=delta,
            logprobs=[],
            obfuscation="aB3dE",
        )

    def message_done(self, text: str, status: str = "completed") -> bytes:
        index = self.message_index
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        return (
            self.event(
                "response.output_text.done",
                item_id=self.message_id,
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            + self.event(
                "response.content_part.done",
                item_id=self.message_id,
                output_index=index,
                content_index=0,
                part=part,
            )
            + self.event(
                "response.output_item.done",
                output_index=index,
                item=self.message_item(text, status),
            )
        )

    # ---- How it ended ------------------------------------------------------------------------

    def output(self, parts: list[str], text: str, status: str) -> list[dict[str, Any]]:
        items = [self.reasoning_item(parts)] if self.message_index else []
        return [*items, self.message_item(text, status)]

    def completed(self, parts: list[str], text: str, usage: dict[str, Any]) -> bytes:
        response = self.response("completed", self.output(parts, text, "completed"), usage)
        return self.event("response.completed", response=response)

    def incomplete(self, parts: list[str], text: str, usage: dict[str, Any], reason: str) -> bytes:
        response = self.response(
            "incomplete",
            self.output(parts, text, "incomplete"),
            usage,
            incomplete_details={"reason": reason},
        )
        return self.event("response.incomplete", response=response)

    def failed(self, code: str, message: str) -> bytes:
        response = self.response("failed", error={"code": code, "message": message})
        return self.event("response.failed", response=response)

    def error(self, code: str, message: str) -> bytes:
        return self.event("error", code=code, message=message, param=None)


def usage(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def finished_response(body: dict[str, Any], text: str) -> dict[str, Any]:
    """A non-streamed response (`stream: false`) whose message says `text`."""
    stream = ResponseStream(body)
    thinking = HIDDEN_REASONING_TOKENS if is_reasoning_model(str(body.get("model", ""))) else 0
    words = len(text.split())
    return stream.response(
        "completed", [stream.message_item(text, "completed")], usage(10, words + thinking, thinking)
    )
