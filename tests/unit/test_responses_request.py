"""The OpenAI and Azure OpenAI host through the Responses API: the answer's request. One
streamed, unstored call, the server's instructions apart from the conversation, a length cap,
and the options each model takes: a reasoning model its effort and a summary of its thinking
(dropped for good once the model refuses it), another its temperature. Against the mocked model
served over loopback HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from chat_api.errors import ChatError
from chat_api.events import End, Step
from tests.unit.model_hosts import PLAIN, PROMPT, REASONING


async def test_the_answer_is_one_streamed_unstored_call_to_responses(collect, mock_model):
    await collect(REASONING)

    sent = mock_model.requests[-1]
    assert mock_model.urls[-1] == mock_model.base_url + "/responses"
    assert (sent["stream"], sent["store"]) == (True, False)
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == PROMPT.messages[1:]
    assert sent["model"] == "gpt-5.4-mini"


async def test_every_answer_carries_the_length_cap(collect, mock_model):
    await collect(REASONING.model_copy(update=dict(max_output_tokens=321)))

    assert mock_model.requests[-1]["max_output_tokens"] == 321


async def test_a_reasoning_model_gets_its_effort_and_a_summary_request(collect, mock_model):
    await collect(REASONING)

    assert mock_model.requests[-1]["reasoning"] == {"effort": "low", "summary": "auto"}


async def test_a_reasoning_model_never_gets_a_parameter_it_refuses(collect, mock_model):
    await collect(REASONING, dataclasses.replace(PROMPT, temperature=0.7))

    sent = mock_model.requests[-1]
    assert not {"temperature", "top_p", "max_tokens", "max_completion_tokens"} & set(sent)


async def test_without_an_effort_the_model_default_is_left_alone(collect, mock_model):
    await collect(REASONING.model_copy(update=dict(reasoning_effort="")))

    assert mock_model.requests[-1]["reasoning"] == {"summary": "auto"}


async def test_summaries_can_be_turned_off(collect, mock_model):
    events = await collect(REASONING.model_copy(update=dict(reasoning_summary=False)))

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
    settings = REASONING.model_copy(
        update=dict(
            model_host="azure",
            azure_openai_endpoint=mock_model.url,
            azure_openai_chat_deployment="chat",
            azure_client_id="the-apps-identity",
        )
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
