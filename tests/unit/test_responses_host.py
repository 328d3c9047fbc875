"""The OpenAI and Azure OpenAI host through the Responses API, against the mocked model served
over loopback HTTP (its events are the SDK's own typed objects, serialised as the service
sends them), and with the SDK's `responses.create` patched as the field does."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from chat_api.errors import ChatError
from chat_api.events import End, Step, TextDelta
from chat_api.hosts import Prompt
from chat_api.prompt import QUERY_MAX_TOKENS, QUERY_SYSTEM
from chat_api.protocol import Message
from chat_api.settings import Settings

REASONING = Settings(
    model_host="openai",
    model_api="responses",
    openai_api_key="sk-test",
    openai_chat_model="gpt-5.4-mini",
    reasoning_model=True,
    reasoning_effort="low",
    model_retry_seconds=0,
)
PLAIN = dataclasses.replace(REASONING, openai_chat_model="gpt-4.1-mini", reasoning_model=False)
PROMPT = Prompt(
    messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is NDJSON?"},
    ],
    question="What is NDJSON?",
)


@pytest.fixture
def collect(opened):
    """Answer a prompt with a host made from these settings (closed when the test ends)."""

    async def answer(settings: Settings, prompt: Prompt = PROMPT) -> list:
        host = opened.host(settings)
        return [event async for event in host.stream_answer(prompt)]

    return answer


def _event(kind: str, **fields: object) -> bytes:
    return (
        b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"
    )


def _completed(**response: object) -> bytes:
    return _event("response.completed", response={"status": "completed", **response})


def _text(delta: object) -> bytes:
    return _event("response.output_text.delta", item_id="msg", delta=delta)


# ---- The request ---------------------------------------------------------------------------


async def test_the_answer_is_one_streamed_unstored_call_to_responses(collect, mock_model):
    await collect(REASONING)

    sent = mock_model.requests[-1]
    assert mock_model.urls[-1] == mock_model.base_url + "/responses"
    assert (sent["stream"], sent["store"]) == (True, False)
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == PROMPT.messages[1:]
    assert sent["model"] == "gpt-5.4-mini"


async def test_every_answer_carries_the_length_cap(collect, mock_model):
    await collect(dataclasses.replace(REASONING, max_output_tokens=321))

    assert mock_model.requests[-1]["max_output_tokens"] == 321


async def test_a_reasoning_model_gets_its_effort_and_a_summary_request(collect, mock_model):
    await collect(REASONING)

    assert mock_model.requests[-1]["reasoning"] == {"effort": "low", "summary": "auto"}


async def test_a_reasoning_model_never_gets_a_parameter_it_refuses(collect, mock_model):
    await collect(REASONING, dataclasses.replace(PROMPT, temperature=0.7))

    sent = mock_model.requests[-1]
    assert not {"temperature", "top_p", "max_tokens", "max_completion_tokens"} & set(sent)


async def test_without_an_effort_the_model_default_is_left_alone(collect, mock_model):
    await collect(dataclasses.replace(REASONING, reasoning_effort=""))

    assert mock_model.requests[-1]["reasoning"] == {"summary": "auto"}


async def test_summaries_can_be_turned_off(collect, mock_model):
    events = await collect(dataclasses.replace(REASONING, reasoning_summary=False))

    assert mock_model.requests[-1]["reasoning"] == {"effort": "low"}
    assert not [e for e in events if isinstance(e, Step)]


async def test_another_model_gets_its_temperature_and_no_reasoning_options(collect, mock_model):
    await collect(PLAIN, dataclasses.replace(PROMPT, temperature=0.7))

    sent = mock_model.requests[-1]
    assert sent["temperature"] == 0.7
    assert "reasoning" not in sent


async def test_azure_keyless_answers_through_the_v1_responses_endpoint(
    collect, mock_model, monkeypatch
):
    from tests.support.standin_identity import TOKEN, StandInIdentity

    identity = await StandInIdentity(client_id="the-apps-identity").start(monkeypatch)
    settings = dataclasses.replace(
        REASONING,
        model_host="azure",
        azure_openai_endpoint=mock_model.url,
        azure_openai_chat_deployment="chat",
        azure_client_id="the-apps-identity",
    )

    events = await collect(settings)
    await identity.close()

    assert mock_model.urls[-1] == mock_model.url + "/openai/v1/responses"
    assert mock_model.headers[-1]["authorization"] == f"Bearer {TOKEN}"
    assert mock_model.requests[-1]["model"] == "chat"
    assert isinstance(events[-1], End)


SUMMARIES_REFUSED = {
    "error": {
        "message": "Your organization must be verified to generate reasoning summaries.",
        "type": "invalid_request_error",
        "param": "reasoning.summary",
        "code": "unsupported_value",
    }
}


async def test_a_model_that_refuses_summaries_answers_without_them_from_then_on(opened, mock_model):
    mock_model.failures = [(400, {})]
    mock_model.failure_bodies = [SUMMARIES_REFUSED]
    host = opened.host(REASONING)

    first = [e async for e in host.stream_answer(PROMPT)]
    second = [e async for e in host.stream_answer(PROMPT)]

    assert [r.get("reasoning") for r in mock_model.requests] == [
        {"effort": "low", "summary": "auto"},
        {"effort": "low"},
        {"effort": "low"},
    ]
    assert isinstance(first[-1], End)
    assert isinstance(second[-1], End)


async def test_another_refusal_is_not_mistaken_for_one_of_summaries(collect, mock_model):
    mock_model.failures = [(400, {})]
    mock_model.failure_bodies = [{"error": {"message": "Bad input.", "param": "input"}}]

    with pytest.raises(ChatError) as caught:
        await collect(REASONING)

    assert caught.value.code == "model_error"
    assert len(mock_model.requests) == 1


# ---- The stream ----------------------------------------------------------------------------


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

    assert [type(e).__name__ for e in events] == ["Step", "Step", "TextDelta", "End"]
    assert [e.detail for e in events[:2]] == ["Reading the question.", "Choosing the words."]


async def test_the_end_carries_usage_with_the_thinking_tokens_and_the_model(collect, mock_model):
    events = await collect(REASONING)

    assert events[-1] == End(
        "stop",
        {"input_tokens": 7, "output_tokens": 11, "total_tokens": 18, "reasoning_tokens": 6},
        "gpt-5.4-mini",
    )


async def test_an_answer_cut_by_the_length_cap_ends_with_length(collect, mock_model):
    mock_model.script = [
        _text("Partial"),
        _event(
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


@pytest.mark.parametrize(
    ("events", "code", "status"),
    [
        (
            [
                _event(
                    "response.incomplete",
                    response={"incomplete_details": {"reason": "content_filter"}},
                )
            ],
            "content_filter",
            400,
        ),
        (
            [
                _event(
                    "response.failed", response={"error": {"code": "server_error", "message": "x"}}
                )
            ],
            "model_error",
            502,
        ),
        (
            [_event("response.failed", response={"error": {"code": "rate_limit_exceeded"}})],
            "rate_limited",
            429,
        ),
        ([_event("error", code="server_error", message="boom")], "model_error", 502),
        ([_text("Half an answer")], "stream_interrupted", 502),  # no end event at all
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
        _text(42),  # a delta that is not a string
        _text(["a"]),
        b"event: response.output_text.delta\ndata: [1, 2]\n\n",  # not an object
        b"event: response.output_text.delta\ndata: {not json\n\n",
        _event("response.completed", response="done"),
        _event("response.completed", response={"usage": [1]}),
        _event("response.reasoning_summary_text.delta", item_id="rs", summary_index=0, delta=7),
    ],
)
async def test_an_event_of_an_unexpected_shape_is_a_model_error(collect, mock_model, event):
    mock_model.script = [_text("Fine so far"), event, _completed()]

    with pytest.raises(ChatError) as caught:
        await collect(REASONING)

    assert caught.value.code == "model_error"


async def test_events_named_only_inside_their_data_are_read(collect, mock_model):
    mock_model.script = [
        b'data: {"type":"response.output_text.delta","delta":"Plain"}\n\n',
        b'data: {"type":"response.completed","response":{"usage":{"output_tokens":1}}}\n\n',
    ]

    events = await collect(PLAIN)

    assert events == [TextDelta("Plain"), End("stop", {"output_tokens": 1})]


async def test_a_last_event_without_its_final_newline_still_ends_the_answer(collect, mock_model):
    mock_model.script = [_text("All"), _completed()[:-2]]

    events = await collect(PLAIN)

    assert events == [TextDelta("All"), End("stop", {})]


async def test_a_refusal_is_shown_as_the_answer(collect, mock_model):
    mock_model.script = [
        _event("response.refusal.delta", item_id="msg", delta="I can't help with that."),
        _completed(),
    ]

    events = await collect(PLAIN)

    assert events[0] == TextDelta("I can't help with that.")


# ---- The search query through responses.create ----------------------------------------------


def _conversation(*contents: str) -> list[Message]:
    roles = ["user", "assistant"]
    return [Message(role=roles[i % 2], content=c) for i, c in enumerate(contents)]


async def test_the_search_query_is_one_small_call_at_the_lowest_effort(opened, mock_model):
    host = opened.host(REASONING)

    query = await host.generate_query(_conversation("What is NDJSON?"))

    assert query == "what is ndjson"
    sent = mock_model.requests[-1]
    assert mock_model.urls[-1].endswith("/responses")
    assert sent["stream"] is False
    assert sent["store"] is False
    assert sent["instructions"] == QUERY_SYSTEM
    assert sent["input"][-1] == {"role": "user", "content": "What is NDJSON?"}
    assert sent["reasoning"] == {"effort": "none"}  # gpt-5.4-mini can be told not to think
    assert sent["max_output_tokens"] == QUERY_MAX_TOKENS
    assert "temperature" not in sent


async def test_a_model_that_must_think_a_little_gets_room_for_it_in_the_query_call(
    opened, mock_model
):
    host = opened.host(dataclasses.replace(REASONING, openai_chat_model="o4-mini"))

    await host.generate_query(_conversation("What is NDJSON?"))

    sent = mock_model.requests[-1]
    assert sent["reasoning"] == {"effort": "low"}
    assert QUERY_MAX_TOKENS < sent["max_output_tokens"] <= 512


async def test_another_model_writes_the_query_at_temperature_zero(opened, mock_model):
    host = opened.host(PLAIN)

    await host.generate_query(_conversation("What is NDJSON?"))

    sent = mock_model.requests[-1]
    assert (sent["temperature"], sent["max_output_tokens"]) == (0, QUERY_MAX_TOKENS)
    assert "reasoning" not in sent


async def test_query_generation_works_with_responses_create_patched(opened, monkeypatch):
    # The field's practice: replace the async client's responses.create with a fake that
    # returns a real Response. The non-streamed calls go through exactly that method.
    from openai.resources.responses import AsyncResponses

    from tests.support.openai_mock_responses import response_for

    calls: list[dict] = []

    async def fake_create(self, **kwargs):
        calls.append(kwargs)
        return response_for("ndjson line format")

    monkeypatch.setattr(AsyncResponses, "create", fake_create)
    host = opened.host(REASONING)

    query = await host.generate_query([Message(role="user", content="What is NDJSON?")])

    assert query == "ndjson line format"
    assert calls[0]["stream"] is False
    assert calls[0]["store"] is False
    assert calls[0]["input"][-1]["content"] == "What is NDJSON?"
    await host.aclose()
