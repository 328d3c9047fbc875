"""The OpenAI and Azure OpenAI host through the Responses API: the search query. One small,
unstored, non-streamed call, at the lowest effort a reasoning model allows or at temperature zero,
against the mocked model served over loopback HTTP and with the SDK's `responses.create` patched
as the field does."""

from __future__ import annotations

from chat_api.prompt import QUERY_MAX_TOKENS, QUERY_SYSTEM
from chat_api.protocol import Message
from tests.unit.model_hosts import PLAIN, REASONING, conversation


async def test_the_search_query_is_one_small_call_at_the_lowest_effort(opened, mock_model):
    host = opened.host(REASONING)

    query = await host.generate_query(conversation("What is NDJSON?"))

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
    host = opened.host(REASONING.model_copy(update=dict(openai_chat_model="o4-mini")))

    await host.generate_query(conversation("What is NDJSON?"))

    sent = mock_model.requests[-1]
    assert sent["reasoning"] == {"effort": "low"}
    assert QUERY_MAX_TOKENS < sent["max_output_tokens"] <= 512


async def test_another_model_writes_the_query_at_temperature_zero(opened, mock_model):
    host = opened.host(PLAIN)

    await host.generate_query(conversation("What is NDJSON?"))

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
