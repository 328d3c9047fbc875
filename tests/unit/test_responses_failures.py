"""The OpenAI and Azure OpenAI host through the Responses API: failures in the answer's stream.
A failure event, an error event or a stream with no end maps to its error code; an event of an
unexpected shape is a model error. The mocked model, over loopback HTTP, plays a script."""

from __future__ import annotations

import pytest

from chat_api.errors import ChatError
from tests.support.model_hosts import REASONING, completed_event, responses_event, text_delta_event


@pytest.mark.parametrize(
    ("events", "code", "status"),
    [
        (
            [
                responses_event(
                    "response.incomplete",
                    response={"incomplete_details": {"reason": "content_filter"}},
                )
            ],
            "content_filter",
            400,
        ),
        (
            [
                responses_event(
                    "response.failed", response={"error": {"code": "server_error", "message": "x"}}
                )
            ],
            "model_error",
            502,
        ),
        (
            [
                responses_event(
                    "response.failed", response={"error": {"code": "rate_limit_exceeded"}}
                )
            ],
            "rate_limited",
            429,
        ),
        ([responses_event("error", code="server_error", message="boom")], "model_error", 502),
        ([text_delta_event("Half an answer")], "stream_interrupted", 502),  # no end event at all
    ],
)
async def test_failures_in_the_stream_map_to_the_error_codes(
    collect, mock_model, events, code, status
):
    mock_model.script = events

    with pytest.raises(ChatError) as caught:
        await collect(REASONING)

    assert (caught.value.code, caught.value.status) == (code, status)


@pytest.mark.parametrize(
    "event",
    [
        text_delta_event(42),  # a delta that is not a string
        text_delta_event(["a"]),
        b"event: response.output_text.delta\ndata: [1, 2]\n\n",  # not an object
        b"event: response.output_text.delta\ndata: {not json\n\n",
        responses_event("response.completed", response="done"),
        responses_event("response.completed", response={"usage": [1]}),
        responses_event(
            "response.reasoning_summary_text.delta", item_id="rs", summary_index=0, delta=7
        ),
    ],
)
async def test_an_event_of_an_unexpected_shape_is_a_model_error(collect, mock_model, event):
    mock_model.script = [text_delta_event("Fine so far"), event, completed_event()]

    with pytest.raises(ChatError) as caught:
        await collect(REASONING)

    assert caught.value.code == "model_error"
