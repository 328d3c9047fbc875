"""The Responses API objects the mock model serves, built from the `openai` SDK's own types: a
finished `Response` (its reasoning summary first, when there is one), the stream of events the
service sends for it, and those events as server-sent events.
"""

from __future__ import annotations

import time
from typing import Any

from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseCreatedEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_reasoning_item import Summary
from openai.types.responses.response_reasoning_summary_part_added_event import (
    Part as SummaryPart,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def response_for(
    text: str, model: str = "gpt-5.4-mini", thinking: tuple[str, ...] = ()
) -> Response:
    """A finished Responses API answer: its reasoning summary (if any), then the message."""
    output: list[Any] = []
    if thinking:
        output.append(
            ResponseReasoningItem(
                id="rs_mock",
                type="reasoning",
                summary=[Summary(text=t, type="summary_text") for t in thinking],
            )
        )
    output.append(
        ResponseOutputMessage(
            id="msg_mock",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )
    )
    reasoning_tokens = sum(len(t.split()) for t in thinking)
    output_tokens = len(text.split()) + reasoning_tokens
    return Response(
        id="resp_mock",
        object="response",
        created_at=time.time(),
        model=model,
        status="completed",
        output=output,
        parallel_tool_calls=False,
        tool_choice="auto",
        tools=[],
        usage=ResponseUsage(
            input_tokens=7,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens=output_tokens,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning_tokens),
            total_tokens=7 + output_tokens,
        ),
    )


def response_events_for(
    text: str, model: str = "gpt-5.4-mini", thinking: tuple[str, ...] = ()
) -> list[Any]:
    """The Responses API's stream for that answer, event by event, as the service sends it."""
    final = response_for(text, model, thinking)
    started = final.model_copy(update={"status": "in_progress", "output": [], "usage": None})
    events: list[Any] = [
        ResponseCreatedEvent(type="response.created", response=started, sequence_number=0)
    ]

    def add(event_type: type, **fields: Any) -> None:
        events.append(event_type(sequence_number=len(events), **fields))

    index = 0
    if thinking:
        reasoning = final.output[0]
        add(ResponseOutputItemAddedEvent, type="response.output_item.added", output_index=0,
            item=reasoning.model_copy(update={"summary": []}))  # fmt: skip
        for part, thought in enumerate(thinking):
            add(ResponseReasoningSummaryPartAddedEvent,
                type="response.reasoning_summary_part.added", item_id="rs_mock",
                output_index=0, summary_index=part,
                part=SummaryPart(text="", type="summary_text"))  # fmt: skip
            for piece in _words(thought):
                add(ResponseReasoningSummaryTextDeltaEvent,
                    type="response.reasoning_summary_text.delta", item_id="rs_mock",
                    output_index=0, summary_index=part, delta=piece)  # fmt: skip
        add(ResponseOutputItemDoneEvent, type="response.output_item.done", output_index=0,
            item=reasoning)  # fmt: skip
        index = 1
    message = final.output[index]
    add(ResponseOutputItemAddedEvent, type="response.output_item.added", output_index=index,
        item=message.model_copy(update={"content": [], "status": "in_progress"}))  # fmt: skip
    add(ResponseContentPartAddedEvent, type="response.content_part.added", item_id="msg_mock",
        output_index=index, content_index=0,
        part=ResponseOutputText(type="output_text", text="", annotations=[]))  # fmt: skip
    for piece in _words(text):
        add(ResponseTextDeltaEvent, type="response.output_text.delta", item_id="msg_mock",
            output_index=index, content_index=0, delta=piece, logprobs=[])  # fmt: skip
    add(ResponseOutputItemDoneEvent, type="response.output_item.done", output_index=index,
        item=message)  # fmt: skip
    add(ResponseCompletedEvent, type="response.completed", response=final)
    return events


def response_sse(events: list[Any]) -> list[bytes]:
    """Responses API events as the service writes them: a name line, a data line, no [DONE]."""
    return [
        b"event: " + e.type.encode() + b"\ndata: " + e.model_dump_json().encode() + b"\n\n"
        for e in events
    ]
