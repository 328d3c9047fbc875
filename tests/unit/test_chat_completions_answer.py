"""The OpenAI-compatible host's answer through Chat Completions (the API of servers such as
Ollama), against the mocked model served over loopback HTTP: one delta per chunk, what is asked
of the model, retries and failures, a reasoning model's parameters, and chunks of an unexpected
shape. The Responses API is in test_responses_*.py; the search query and embeddings in
test_openai_query_and_embeddings.py."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from chat_api.errors import ChatError
from chat_api.events import End, TextDelta
from chat_api.prompt import Prompt
from chat_api.settings import Settings
from tests.unit.model_hosts import OPENAI


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


# ---- A reasoning model, and streams of an unexpected shape ------------------------------------


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
