"""How an answer that did not end well shows in its trace: cut by the model, left by the client,
failed in search; and requests that end unexpectedly, before or during the answer, as internal
errors rather than as a client that left. The real host talks to the mocked model over loopback
HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from opentelemetry.trace import StatusCode
from starlette.requests import Request

from chat_api import asgi, runtime
from chat_api import service as service_module
from chat_api.events import End, Step
from tests.support.ndjson import question
from tests.unit.telemetry.recording import recorded_service, streamed_lines


async def test_a_stream_cut_by_the_model_shows_as_cut(opened, recorded, mock_model, fake_search):
    mock_model.cut_after = 4  # filter results, role, two words: then the connection drops

    lines = await streamed_lines(recorded_service(recorded, opened), question("Tell me everything"))

    assert lines[-1]["error"]["code"] == "stream_interrupted"
    spans = recorded.finished()
    assert spans["server"].attributes["chat.outcome"] == "cut"
    assert spans["server"].attributes["error.type"] == "stream_interrupted"
    assert spans["server"].status.status_code is StatusCode.ERROR
    assert spans["answer"].attributes["error.type"] == "stream_interrupted"
    assert lines[-1]["error"]["ref"] == spans["server"].attributes["chat.ref"]


async def test_a_client_that_left_shows_as_such_and_every_span_ends(
    opened, recorded, mock_model, fake_search
):
    mock_model.chunk_gap = 0.2
    reply = await recorded_service(recorded, opened).stream(
        "application/json", orjson.dumps(question("Slow?"))
    )
    first_text = asyncio.Event()

    async def read() -> None:
        async for line in reply.body:
            if b'"content"' in line:
                first_text.set()

    reader = asyncio.create_task(read())
    await asyncio.wait_for(first_text.wait(), 10)
    reader.cancel()  # what the HTTP layer does when the client goes away
    with pytest.raises(asyncio.CancelledError):
        await reader

    spans = recorded.finished()
    assert spans["server"].attributes["chat.outcome"] == "client_left"
    assert spans["server"].attributes["chat.client_left"] is True
    assert spans["answer"].attributes["chat.cancelled"] is True
    assert spans["server"].status.status_code is not StatusCode.ERROR


async def test_a_failed_search_marks_the_search_span_and_the_answer(
    opened, recorded, mock_model, fake_search
):
    fake_search.error = TimeoutError()
    # The failure comes before the answer begins, so it gets its own status; on a busy machine
    # the way to it (the question's first model call) can outlast the default opening window.
    service = recorded_service(recorded, opened, opening_window_seconds=30.0)

    lines = await streamed_lines(service, question("Cost?"))

    assert lines[0]["error"]["code"] == "search_unavailable"
    spans = recorded.finished()
    assert "answer" not in spans
    assert spans["search"].attributes["error.type"] == "search_unavailable"
    assert spans["search"].status.status_code is StatusCode.ERROR
    assert spans["server"].attributes["chat.outcome"] == "failed"
    assert spans["server"].attributes["http.response.status_code"] == 503
    assert lines[0]["error"]["ref"] == spans["server"].attributes["chat.ref"]


# ---- Requests that end unexpectedly ------------------------------------------------------------


async def test_an_unexpected_failure_before_the_answer_ends_the_span_as_an_internal_error(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    service = recorded_service(recorded, opened)

    def broken(content_type: str | None, body: bytes) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service, "parse", broken)

    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))

    assert reply.status == 500
    server = recorded.finished()["server"]
    assert server.attributes["chat.outcome"] == "failed"
    assert server.attributes["error.type"] == "internal_error"
    assert server.attributes["http.response.status_code"] == 500
    assert server.status.status_code is StatusCode.ERROR
    assert orjson.loads(reply.body)["error"]["ref"] == server.attributes["chat.ref"]
    (answers,) = recorded.metric_points("chat.answers")
    assert answers.attributes["chat.outcome"] == "failed"
    assert not recorded.metric_points("chat.requests.refused")


async def _breaks_after_a_step(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    yield Step("Question received")
    raise RuntimeError("secret detail")


def _breaks_when_told(proceed: asyncio.Event) -> Any:
    async def pipeline(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        yield Step("Question received")
        await proceed.wait()
        raise RuntimeError("secret detail")

    return pipeline


async def test_an_unexpected_failure_in_a_whole_reply_ends_the_span_as_an_internal_error(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    monkeypatch.setattr(service_module, "stream_chat", _breaks_after_a_step)

    reply = await recorded_service(recorded, opened).complete(
        "application/json", orjson.dumps(question("Cost?"))
    )

    assert reply.status == 500
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["error.type"] == "internal_error"
    assert "chat.client_left" not in server


async def test_an_unexpected_failure_mid_stream_ends_the_span_as_failed_not_as_a_client_gone(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    proceed = asyncio.Event()
    monkeypatch.setattr(service_module, "stream_chat", _breaks_when_told(proceed))
    service = recorded_service(recorded, opened, opening_window_seconds=0.01)
    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))
    assert reply.status == 200  # the stream has begun
    proceed.set()

    with pytest.raises(RuntimeError):  # the HTTP layer turns it into an internal_error line
        [line async for line in reply.body]

    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["error.type"] == "internal_error"
    assert "chat.client_left" not in server
    (open_streams,) = recorded.metric_points("chat.streams.open")
    assert open_streams.value == 0


async def test_a_client_that_leaves_a_whole_reply_ends_the_span_as_client_left(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    mock_model.chunk_gap = 0.2
    monkeypatch.setattr(runtime, "_service", recorded_service(recorded, opened))
    body = orjson.dumps(question("Slow?"))
    delivered = False
    leave = asyncio.Event()

    def answer_then_leave(messages: list[dict]) -> str:
        leave.set()  # the client goes once the model has begun its answer
        return "A slow answer in many words"

    mock_model.answer = answer_then_leave

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/chat",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
    }
    answering = asyncio.create_task(asgi.chat(Request(scope, receive)))
    response = await asyncio.wait_for(answering, 10)

    assert response.status_code == 499  # never sent: the connection is gone
    spans = recorded.finished()
    assert spans["server"].name == "POST /api/chat"
    assert spans["server"].attributes["chat.outcome"] == "client_left"
    assert spans["server"].attributes["chat.client_left"] is True
    assert spans["answer"].attributes["chat.cancelled"] is True
    (answers,) = recorded.metric_points("chat.answers")
    assert answers.attributes["chat.outcome"] == "client_left"


async def test_a_client_that_leaves_after_the_model_finished_leaves_the_model_span_complete(
    recorded, caplog
):
    trace = recorded.telemetry.request("/api/chat/stream")

    async def pipeline() -> AsyncIterator[End]:
        trace.model_stage("gpt-5.4-mini", None)
        yield End("stop", {"input_tokens": 3, "output_tokens": 9})

    lines = trace.observe(pipeline())
    await anext(lines)  # the End line is being sent when the client goes
    await lines.aclose()

    answer = recorded.finished()["answer"]
    assert "chat.cancelled" not in answer.attributes
    assert answer.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert "ended span" not in caplog.text
