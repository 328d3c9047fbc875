"""The OpenAI-compatible host against the mocked model, served over loopback HTTP."""

from __future__ import annotations

import asyncio

import pytest
from azure.core.credentials import AccessToken

from chat_api.errors import ChatError
from chat_api.events import End, TextDelta
from chat_api.hosts import Prompt
from chat_api.hosts.openai_compatible import create_host
from chat_api.prompt import QUERY_MAX_TOKENS, build_query_messages
from chat_api.protocol import Message
from chat_api.settings import Settings
from tests.support.standin_model import embed

OPENAI = Settings(model_host="openai", openai_api_key="sk-test", model_retry_seconds=5)


def _prompt(question: str = "What is NDJSON?") -> Prompt:
    return Prompt(messages=[{"role": "user", "content": question}], question=question)


async def _collect(host, prompt: Prompt) -> list:
    return [event async for event in host.stream_answer(prompt)]


async def test_streams_one_delta_per_model_chunk(mock_model):
    host = create_host(OPENAI)

    events = await _collect(host, _prompt("What is NDJSON?"))

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["You", " asked:", " What", " is", " NDJSON?"]
    await host.aclose()


async def test_events_that_arrive_together_leave_as_one_delta(mock_model):
    mock_model.chunk_gap = 0  # the whole answer in one network read, as when the app is busy
    host = create_host(OPENAI)

    events = await _collect(host, _prompt("What is NDJSON?"))

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["You asked: What is NDJSON?"]


async def test_answers_reuse_one_connection_to_the_model(mock_model):
    host = create_host(OPENAI)

    await _collect(host, _prompt("one"))
    await _collect(host, _prompt("two"))

    assert len(mock_model.peers) == 2
    assert mock_model.peers[0] == mock_model.peers[1]  # same client port: no new connection


async def test_reads_a_compressed_stream(mock_model):
    mock_model.gzip = True
    host = create_host(OPENAI)

    events = await _collect(host, _prompt("Zipped?"))

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "You asked: Zipped?"


async def test_ends_with_the_finish_reason_usage_and_the_model_that_answered(mock_model):
    host = create_host(OPENAI)

    events = await _collect(host, _prompt())

    assert events[-1] == End(
        "stop", {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}, "gpt-4o-mini"
    )


async def test_sends_the_model_the_messages_and_asks_for_a_stream_with_usage(mock_model):
    host = create_host(Settings(model_host="openai", openai_chat_model="my-model"))

    await _collect(
        host, Prompt(messages=[{"role": "user", "content": "hi"}], question="hi", temperature=0.2)
    )

    sent = mock_model.requests[-1]
    assert sent["model"] == "my-model"
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.2


async def test_retries_throttling_honouring_retry_after(mock_model, monkeypatch):
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    mock_model.failures = [(429, {"retry-after": "2"}), (503, {})]
    host = create_host(OPENAI)

    events = await _collect(host, _prompt())

    assert isinstance(events[-1], End)
    assert len(mock_model.requests) == 3
    assert slept[0] == 2
    assert 0.5 <= slept[1] <= 1.5  # exponential backoff with jitter when no hint is given


async def test_gives_429_with_retry_after_when_the_budget_runs_out(mock_model):
    mock_model.failures = [(429, {"retry-after": "30"})]
    host = create_host(OPENAI)

    with pytest.raises(ChatError) as caught:
        await _collect(host, _prompt())

    assert (caught.value.status, caught.value.retry_after) == (429, 30)
    assert len(mock_model.requests) == 1


@pytest.mark.parametrize(
    ("status", "expected"), [(400, 502), (401, 502), (404, 502), (500, 502), (503, 503)]
)
async def test_maps_model_failures_to_gateway_statuses(mock_model, status, expected):
    mock_model.failures = [(status, {})] * 10
    host = create_host(Settings(model_host="openai", model_retry_seconds=0))

    with pytest.raises(ChatError) as caught:
        await _collect(host, _prompt())

    assert caught.value.status == expected


class FakeCredential:
    """Stands in for azure.identity's async credential: hands out a fixed token."""

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("entra-token", 9_999_999_999)

    async def close(self) -> None:
        return None


async def test_azure_keyless_sends_an_entra_token_to_the_v1_endpoint(mock_model, monkeypatch):
    import azure.identity.aio

    created: list[FakeCredential] = []

    def make_credential(**kwargs: object) -> FakeCredential:
        created.append(FakeCredential(**kwargs))
        return created[-1]

    monkeypatch.setattr(azure.identity.aio, "DefaultAzureCredential", make_credential)
    settings = Settings(
        model_host="azure",
        azure_openai_endpoint=mock_model.url,
        azure_openai_chat_deployment="chat",
        azure_client_id="client-id-of-identity",
    )
    host = create_host(settings)

    await _collect(host, _prompt())

    assert mock_model.urls[-1] == mock_model.url + "/openai/v1/chat/completions"
    assert mock_model.headers[-1]["authorization"] == "Bearer entra-token"
    assert created[0].kwargs == {"managed_identity_client_id": "client-id-of-identity"}
    assert created[0].scopes == ["https://cognitiveservices.azure.com/.default"]
    assert mock_model.requests[-1]["model"] == "chat"


# ---- Query generation and embeddings -------------------------------------------------------


def _conversation(*contents: str) -> list[Message]:
    roles = ["user", "assistant"]
    return [Message(role=roles[i % 2], content=c) for i, c in enumerate(contents)]


async def test_the_search_query_is_one_non_streamed_call_with_the_query_prompt(mock_model):
    host = create_host(OPENAI)

    query = await host.generate_query(_conversation("What is NDJSON?"))

    assert query == "what is ndjson"
    sent = mock_model.requests[-1]
    assert sent["stream"] is False
    assert sent["messages"] == build_query_messages(_conversation("What is NDJSON?"))
    assert sent["max_tokens"] == QUERY_MAX_TOKENS
    assert sent["temperature"] == 0
    await host.aclose()


async def test_the_model_reply_is_cleaned_into_the_query(mock_model):
    mock_model.query = lambda messages: 'Search query: "ndjson line format"\nHope it helps.'
    host = create_host(OPENAI)

    assert await host.generate_query(_conversation("What is NDJSON?")) == "ndjson line format"


async def test_query_generation_retries_throttling_like_the_answer(mock_model, monkeypatch):
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    mock_model.failures = [(429, {"retry-after": "1"})]
    host = create_host(OPENAI)

    assert await host.generate_query(_conversation("What is NDJSON?")) == "what is ndjson"
    assert len(mock_model.requests) == 2


async def test_a_model_that_refuses_the_query_request_leaves_the_keywords(mock_model):
    mock_model.failures = [(400, {})]
    host = create_host(OPENAI)

    assert await host.generate_query(_conversation("How do I deploy it?")) == "deploy"


async def test_a_model_that_is_down_fails_query_generation_with_its_status(mock_model):
    mock_model.failures = [(503, {})] * 10
    host = create_host(Settings(model_host="openai", model_retry_seconds=0))

    with pytest.raises(ChatError) as caught:
        await host.generate_query(_conversation("Anyone there?"))

    assert caught.value.status == 503


async def test_embeddings_come_back_one_vector_per_text_in_order(mock_model):
    host = create_host(Settings(model_host="openai", openai_embedding_model="emb-model"))

    vectors = await host.embed(["first text", "second text"])

    assert vectors == [embed("first text"), embed("second text")]
    sent = mock_model.requests[-1]
    assert sent == {
        "model": "emb-model",
        "input": ["first text", "second text"],
        "encoding_format": "float",
    }
    assert mock_model.urls[-1].endswith("/embeddings")


async def test_azure_embeddings_use_the_embedding_deployment(mock_model):
    settings = Settings(
        model_host="azure",
        azure_openai_endpoint=mock_model.url,
        azure_openai_api_key="key",
        azure_openai_embedding_deployment="embedding-deployment",
    )
    host = create_host(settings)

    await host.embed(["text"])

    assert mock_model.urls[-1] == mock_model.url + "/openai/v1/embeddings"
    assert mock_model.requests[-1]["model"] == "embedding-deployment"


async def test_nothing_to_embed_makes_no_call(mock_model):
    host = create_host(OPENAI)

    assert await host.embed([]) == []
    assert mock_model.requests == []


async def test_query_generation_works_with_the_sdk_create_patched_as_the_field_does(monkeypatch):
    # The common practice: replace the async client's chat.completions.create with a fake that
    # returns a real ChatCompletion. The non-streamed calls go through exactly that method.
    from openai.resources.chat.completions import AsyncCompletions

    from tests.support.openai_mock import completion_for

    calls: list[dict] = []

    async def fake_create(self, **kwargs):
        calls.append(kwargs)
        return completion_for("ndjson line format")

    monkeypatch.setattr(AsyncCompletions, "create", fake_create)
    host = create_host(Settings(model_host="openai", openai_api_key="sk-test"))

    query = await host.generate_query([Message(role="user", content="What is NDJSON?")])

    assert query == "ndjson line format"
    assert calls[0]["stream"] is False
    assert calls[0]["messages"][-1]["content"].endswith("What is NDJSON?")
    await host.aclose()
