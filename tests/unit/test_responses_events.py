"""The OpenAI and Azure OpenAI host through the Responses API: reading the answer's events. The
thinking (reasoning summaries) comes as steps before the words and never in the text, each event
leaves as one line however they arrive, the end carries the usage and why the answer ended, and
events of odd but valid shapes are read. The mocked model, over loopback HTTP, sends the SDK's own
typed objects serialised as the service sends them, or a script of events."""

from __future__ import annotations

from chat_api.events import End, Step, TextDelta
from tests.support.model_hosts import (
    PLAIN,
    REASONING,
    completed_event,
    responses_event,
    text_delta_event,
)


async def test_the_thinking_comes_as_steps_before_the_words(collect, mock_model):
    events = await collect(REASONING)

    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    thinking = [e for e in events[:first_text] if isinstance(e, Step)]
    assert thinking
    assert all(step.title == "Thinking" for step in thinking)
    assert not [e for e in events[first_text:] if isinstance(e, Step)]


async def test_each_summary_part_is_one_step_that_grows(collect, mock_model):
    events = await collect(REASONING)

    thoughts: dict[str, str] = {}
    for step in (e for e in events if isinstance(e, Step)):
        assert step.append == (step.id in thoughts)  # the first line starts it, later ones grow it
        thoughts[step.id] = thoughts.get(step.id, "") + step.detail
    assert list(thoughts.values()) == ["Reading the question.", "Choosing the words."]


async def test_the_thinking_never_enters_the_answer_text(collect, mock_model):
    events = await collect(REASONING)

    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "You asked: What is NDJSON?"


async def test_events_that_arrive_together_leave_as_one_line_each(collect, mock_model):
    mock_model.chunk_gap = 0  # the whole answer in one network read

    events = await collect(REASONING)

    thinking = [e.detail for e in events[:2] if isinstance(e, Step)]
    assert thinking == ["Reading the question.", "Choosing the words."]
    assert [e.text for e in events[2:3] if isinstance(e, TextDelta)] == [
        "You asked: What is NDJSON?"
    ]
    assert isinstance(events[3], End)
    assert len(events) == 4


async def test_the_end_carries_usage_with_the_thinking_tokens_and_the_model(collect, mock_model):
    events = await collect(REASONING)

    assert events[-1] == End(
        "stop",
        {"input_tokens": 7, "output_tokens": 11, "total_tokens": 18, "reasoning_tokens": 6},
        "gpt-5.4-mini",
    )


async def test_an_answer_cut_by_the_length_cap_ends_with_length(collect, mock_model):
    mock_model.script = [
        text_delta_event("Partial"),
        responses_event(
            "response.incomplete",
            response={
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
                "usage": {"input_tokens": 3, "output_tokens": 8, "total_tokens": 11},
            },
        ),
    ]

    events = await collect(REASONING)

    assert events == [
        TextDelta("Partial"),
        End("length", {"input_tokens": 3, "output_tokens": 8, "total_tokens": 11}),
    ]


async def test_events_named_only_inside_their_data_are_read(collect, mock_model):
    mock_model.script = [
        b'data: {"type":"response.output_text.delta","delta":"Plain"}\n\n',
        b'data: {"type":"response.completed","response":{"usage":{"output_tokens":1}}}\n\n',
    ]

    events = await collect(PLAIN)

    assert events == [TextDelta("Plain"), End("stop", {"output_tokens": 1})]


async def test_a_last_event_without_its_final_newline_still_ends_the_answer(collect, mock_model):
    mock_model.script = [text_delta_event("All"), completed_event()[:-2]]

    events = await collect(PLAIN)

    assert events == [TextDelta("All"), End("stop", {})]


async def test_a_refusal_is_shown_as_the_answer(collect, mock_model):
    mock_model.script = [
        responses_event("response.refusal.delta", item_id="msg", delta="I can't help with that."),
        completed_event(),
    ]

    events = await collect(PLAIN)

    assert events[0] == TextDelta("I can't help with that.")
