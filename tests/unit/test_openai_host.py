"""The OpenAI-compatible host through Chat Completions (the API of servers such as Ollama)
against the mocked model, served over loopback HTTP. The Responses API is in
test_responses_host.py."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from chat_api.errors import ChatError
from chat_api.events import End, TextDelta
from chat_api.hosts import Prompt
from chat_api.prompt import QUERY_MAX_TOKENS, build_query_messages
from chat_api.protocol import Message
from chat_api.settings import Settings
from tests.support.standin_model_answers import embed

OPENAI = Settings(
    model_host="openai",
    model_api="chat",
    openai_chat_model="llama3.1",
    openai_api_key="sk-test",
    model_retry_seconds=5,
)


def _prompt(question: str = "What is NDJSON?") -> Prompt:
    return Prompt(messages=[{"role": "user", "content": question}], question=question)


async def _collect(host, prompt: Prompt) -> list:
    return [event async for event in host.stream_answer(prompt)]


async def test_streams_one_delta_per_model_chunk(opened, mock_model):
    host = opened.host(OPENAI)

    events = await _collect(host, _prompt("What is NDJSON?"))

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["You", " asked:", " What", " is", " NDJSON?"]
    await host.aclose()


async def test_events_that_arrive_together_leave_as_one_delta(opened, mock_model):
    mock_model.chunk_gap = 0  # the whole answer in one network read, as when the app is busy
    host = opened.host(OPENAI)

    events = await _collect(host, _prompt("What is NDJSON?"))

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["You asked: What is NDJSON?"]


async def test_answers_reuse_one_connection_to_the_model(opened, mock_model):
    host = opened.host(OPENAI)

    await _collect(host, _prompt("one"))
    await _collect(host, _prompt("two"))

    assert len(mock_model.peers) == 2
    assert mock_model.peers[0] == mock_model.peers[1]  # same client port: no new connection


async def test_reads_a_compressed_stream(opened, mock_model):
    mock_model.gzip = True
    host = opened.host(OPENAI)

    events = await _collect(host, _prompt("Zipped?"))

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "You asked: Zipped?"


async def test_ends_with_the_finish_reason_usage_and_the_model_that_answered(opened, mock_model):
    host = opened.host(OPENAI)

    events = await _collect(host, _prompt())

    usage = {"input_tokens": 7, "output_tokens": 5, "total_tokens": 12}
    assert events[-1] == End("stop", usage, "gpt-4o-mini")


async def test_sends_the_model_the_messages_and_asks_for_a_stream_with_usage(opened, mock_model):
    host = opened.host(
        Settings(model_host="openai", model_api="chat", openai_chat_model="my-model")
    )

    await _collect(
        host, Prompt(messages=[{"role": "user", "content": "hi"}], question="hi", temperature=0.2)
    )

    sent = mock_model.requests[-1]
    assert sent["model"] == "my-model"
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.2
    assert sent["max_tokens"] == 1024  # the length cap, on every answer


async def test_retries_throttling_honouring_retry_after(opened, mock_model, monkeypatch):
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    mock_model.failures = [(429, {"retry-after": "2"}), (503, {})]
    host = opened.host(OPENAI)

    events = await _collect(host, _prompt())

    assert isinstance(events[-1], End)
    assert len(mock_model.requests) == 3
    assert slept[0] == 2
    assert 0.5 <= slept[1] <= 1.5  # exponential backoff with jitter when no hint is given


async def test_gives_429_with_retry_after_when_the_budget_runs_out(opened, mock_model):
    mock_model.failures = [(429, {"retry-after": "30"})]
    host = opened.host(OPENAI)

    with pytest.raises(ChatError) as caught:
        await _collect(host, _prompt())

    assert (caught.value.status, caught.value.retry_after) == (429, 30)
    assert len(mock_model.requests) == 1


@pytest.mark.parametrize(
    ("status", "expected"), [(400, 502), (401, 502), (404, 502), (500, 502), (503, 503)]
)
async def test_maps_model_failures_to_gateway_statuses(opened, mock_model, status, expected):
    mock_model.failures = [(status, {})] * 10
    host = opened.host(Settings(model_host="openai", model_api="chat", model_retry_seconds=0))

    with pytest.raises(ChatError) as caught:
        await _collect(host, _prompt())

    assert caught.value.status == expected


# ---- Query generation and embeddings -------------------------------------------------------


def _conversation(*contents: str) -> list[Message]:
    roles = ["user", "assistant"]
    return [Message(role=roles[i % 2], content=c) for i, c in enumerate(contents)]


async def test_the_search_query_is_one_non_streamed_call_with_the_query_prompt(opened, mock_model):
    host = opened.host(OPENAI)

    query = await host.generate_query(_conversation("What is NDJSON?"))

    assert query == "what is ndjson"
    sent = mock_model.requests[-1]
    assert sent["stream"] is False
    assert sent["messages"] == build_query_messages(_conversation("What is NDJSON?"))
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

    assert await host.generate_query(_conversation("What is NDJSON?")) == "ndjson line format"


async def test_query_generation_retries_throttling_like_the_answer(opened, mock_model, monkeypatch):
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    mock_model.failures = [(429, {"retry-after": "1"})]
    host = opened.host(OPENAI)

    assert await host.generate_query(_conversation("What is NDJSON?")) == "what is ndjson"
    assert len(mock_model.requests) == 2


async def test_a_model_that_refuses_the_query_request_leaves_the_keywords(opened, mock_model):
    mock_model.failures = [(400, {})]
    host = opened.host(OPENAI)

    assert await host.generate_query(_conversation("How do I deploy it?")) == "deploy"


async def test_a_model_that_is_down_fails_query_generation_with_its_status(opened, mock_model):
    mock_model.failures = [(503, {})] * 10
    host = opened.host(Settings(model_host="openai", model_api="chat", model_retry_seconds=0))

    with pytest.raises(ChatError) as caught:
        await host.generate_query(_conversation("Anyone there?"))

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


# ---- Reasoning models and odd streams through Chat Completions --------------------------------


async def test_a_reasoning_model_gets_max_completion_tokens_and_no_temperature(opened, mock_model):
    settings = Settings(
        model_host="openai",
        model_api="chat",
        openai_chat_model="o4-mini",
        reasoning_model=True,
        reasoning_effort="high",
        max_output_tokens=500,
    )

    await _collect(opened.host(settings), dataclasses.replace(_prompt(), temperature=0.5))

    sent = mock_model.requests[-1]
    assert sent["max_completion_tokens"] == 500
    assert sent["reasoning_effort"] == "high"
    assert not {"temperature", "top_p", "max_tokens"} & set(sent)


async def test_a_reasoning_model_writes_the_query_without_refused_parameters(opened, mock_model):
    settings = Settings(
        model_host="openai", model_api="chat", openai_chat_model="gpt-5-mini", reasoning_model=True
    )

    await opened.host(settings).generate_query(_conversation("What is NDJSON?"))

    sent = mock_model.requests[-1]
    assert sent["reasoning_effort"] == "minimal"
    assert sent["max_completion_tokens"] > QUERY_MAX_TOKENS
    assert not {"temperature", "top_p", "max_tokens"} & set(sent)


@pytest.mark.parametrize(
    "chunk",
    [
        b'data: {"choices": "none"}\n\n',
        b'data: {"choices": [{"delta": {"content": 5}}]}\n\n',
        b'data: {"choices": [{"delta": "text"}]}\n\n',
        b'data: {"choices": [{"delta": {}, "finish_reason": 1}]}\n\n',
        b'data: {"choices": [], "usage": "lots"}\n\n',
        b"data: [1]\n\n",
        b"data: {broken\n\n",
    ],
)
async def test_a_chunk_of_an_unexpected_shape_is_a_model_error(opened, mock_model, chunk):
    mock_model.script = [
        b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\n',
        chunk,
        b"data: [DONE]\n\n",
    ]

    with pytest.raises(ChatError) as caught:
        await _collect(opened.host(OPENAI), _prompt())

    assert caught.value.code == "model_error"


async def test_an_over_long_event_is_refused_not_buffered(opened, mock_model, monkeypatch):
    from chat_api.hosts import sse

    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 1024)
    monkeypatch.setattr(sse.SSEDecoder.__init__, "__defaults__", (1024,))
    mock_model.script = [b'data: {"choices": [{"delta": {"content": "' + b"x" * 4096]

    with pytest.raises(ChatError) as caught:
        await _collect(opened.host(OPENAI), _prompt())

    assert caught.value.code == "model_error"
