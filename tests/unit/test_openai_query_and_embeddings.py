"""The OpenAI-compatible host's calls off the answer's hot path, made through the OpenAI SDK
(imported off the event loop): the search query through Chat Completions, cleaned, retried and
left to the keywords when refused; embeddings, one vector per text. Against the mocked model
served over loopback HTTP, and with the SDK's `create` patched as the field does."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chat_api.errors import ChatError
from chat_api.prompt import QUERY_MAX_TOKENS, build_query_messages
from chat_api.protocol import Message
from chat_api.settings import Settings
from standins.model_answers import embed
from tests.support.model_hosts import OPENAI, conversation


async def test_the_search_query_is_one_non_streamed_call_with_the_query_prompt(opened, mock_model):
    host = opened.host(OPENAI)

    query = await host.generate_query(conversation("What is NDJSON?"))

    assert query == "what is ndjson"
    sent = mock_model.requests[-1]
    assert sent["stream"] is False
    assert sent["messages"] == build_query_messages(conversation("What is NDJSON?"))
    assert sent["max_tokens"] == QUERY_MAX_TOKENS
    assert sent["temperature"] == 0
    await host.aclose()


async def test_the_sdk_is_imported_off_the_event_loop(opened, mock_model, monkeypatch):
    from chat_api.hosts import openai_compatible

    loop = asyncio.get_running_loop()
    loop_ran = threading.Event()
    loop_ran_meanwhile: list[bool] = []

    def slow_import() -> None:
        # As a cold start's import, blocking; it ends once the event loop has run meanwhile. On
        # the loop's own thread that could never happen, and the wait would run out instead.
        loop.call_soon_threadsafe(loop_ran.set)
        loop_ran_meanwhile.append(loop_ran.wait(30))

    monkeypatch.setattr(openai_compatible, "_import_sdk", slow_import)
    query = await opened.host(OPENAI).generate_query([Message(role="user", content="NDJSON?")])

    assert query
    assert loop_ran_meanwhile == [True]  # the loop went on while the SDK was imported


async def test_the_model_reply_is_cleaned_into_the_query(opened, mock_model):
    mock_model.query = lambda messages: 'Search query: "ndjson line format"\nHope it helps.'
    host = opened.host(OPENAI)

    assert await host.generate_query(conversation("What is NDJSON?")) == "ndjson line format"


async def test_query_generation_retries_throttling_like_the_answer(opened, mock_model, monkeypatch):
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    mock_model.failures = [(429, {"retry-after": "1"})]
    host = opened.host(OPENAI)

    assert await host.generate_query(conversation("What is NDJSON?")) == "what is ndjson"
    assert len(mock_model.requests) == 2


async def test_a_model_that_refuses_the_query_request_leaves_the_keywords(opened, mock_model):
    mock_model.failures = [(400, {})]
    host = opened.host(OPENAI)

    assert await host.generate_query(conversation("How do I deploy it?")) == "deploy"


async def test_a_model_that_is_down_fails_query_generation_with_its_status(opened, mock_model):
    mock_model.failures = [(503, {})] * 10
    host = opened.host(Settings(model_host="openai", model_api="chat", model_retry_seconds=0))

    with pytest.raises(ChatError) as caught:
        await host.generate_query(conversation("Anyone there?"))

    assert caught.value.status == 503


async def test_embeddings_come_back_one_vector_per_text_in_order(opened, mock_model):
    host = opened.host(
        Settings(model_host="openai", model_api="chat", openai_embedding_model="emb-model")
    )

    vectors = await host.embed(["first text", "second text"])

    assert vectors == [embed("first text"), embed("second text")]
    sent = mock_model.requests[-1]
    assert sent == {
        "model": "emb-model",
        "input": ["first text", "second text"],
        "encoding_format": "float",
    }
    assert mock_model.urls[-1].endswith("/embeddings")


async def test_azure_embeddings_use_the_embedding_deployment(opened, mock_model):
    settings = Settings(
        model_host="azure",
        model_api="chat",
        azure_openai_endpoint=mock_model.url,
        azure_openai_api_key="key",
        azure_openai_embedding_deployment="embedding-deployment",
    )
    host = opened.host(settings)

    await host.embed(["text"])

    assert mock_model.urls[-1] == mock_model.url + "/openai/v1/embeddings"
    assert mock_model.requests[-1]["model"] == "embedding-deployment"


async def test_nothing_to_embed_makes_no_call(opened, mock_model):
    host = opened.host(OPENAI)

    assert await host.embed([]) == []
    assert mock_model.requests == []


async def test_query_generation_works_with_the_sdk_create_patched_as_the_field_does(
    opened, monkeypatch
):
    # The common practice: replace the async client's chat.completions.create with a fake that
    # returns a real ChatCompletion. The non-streamed calls go through exactly that method.
    from openai.resources.chat.completions import AsyncCompletions

    from tests.support.openai_mock_chat import completion_for

    calls: list[dict] = []

    async def fake_create(self, **kwargs):
        calls.append(kwargs)
        return completion_for("ndjson line format")

    monkeypatch.setattr(AsyncCompletions, "create", fake_create)
    host = opened.host(Settings(model_host="openai", model_api="chat", openai_api_key="sk-test"))

    query = await host.generate_query([Message(role="user", content="What is NDJSON?")])

    assert query == "ndjson line format"
    assert calls[0]["stream"] is False
    assert calls[0]["messages"][-1]["content"].endswith("What is NDJSON?")
    await host.aclose()


async def test_a_reasoning_model_writes_the_query_without_refused_parameters(opened, mock_model):
    settings = Settings(
        model_host="openai", model_api="chat", openai_chat_model="gpt-5-mini", reasoning_model=True
    )

    await opened.host(settings).generate_query(conversation("What is NDJSON?"))

    sent = mock_model.requests[-1]
    assert sent["reasoning_effort"] == "minimal"
    assert sent["max_completion_tokens"] > QUERY_MAX_TOKENS
    assert not {"temperature", "top_p", "max_tokens"} & set(sent)
