"""Each answer as one trace: the span tree and its attributes, read from an in-memory exporter,
for answers streamed, buffered, cut by the model, left by the client and failed in search; and
the metrics the answers leave. The real host talks to the mocked model over loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.requests import Request

from chat_api import asgi, runtime
from chat_api import service as service_module
from chat_api import telemetry as telemetry_package
from chat_api.events import End, Step
from chat_api.service import ChatService
from chat_api.telemetry.otel import OpenTelemetry
from tests.support.ndjson import question
from tests.support.openai_mock_chat import COMPLETION_PROMPT_TOKENS
from tests.unit.conftest import Opened
from tests.unit.test_pipeline import SETTINGS  # the same app: OpenAI host, Azure AI Search

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@dataclasses.dataclass
class Recorded:
    telemetry: OpenTelemetry
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> dict[str, ReadableSpan]:
        """Spans by their stage (`server` for the request's own)."""
        out = {}
        for span in self.spans.get_finished_spans():
            stage = "server" if span.kind is SpanKind.SERVER else span.attributes.get("chat.stage")
            out[stage or span.name] = span
        return out

    def metric_points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


def _recorded(record_content: bool = False) -> Iterator[Recorded]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = OpenTelemetry(
        lambda: None,
        record_content=record_content,
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    telemetry_package._listen(telemetry)
    yield Recorded(telemetry, spans, reader)
    telemetry_package._listen(None)


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    yield from _recorded()


@pytest.fixture
def recorded_with_content() -> Iterator[Recorded]:
    yield from _recorded(record_content=True)


def _service(recorded: Recorded, opened: Opened, **changes: Any) -> ChatService:
    return opened.service(dataclasses.replace(SETTINGS, **changes), recorded.telemetry)


async def _stream(service: ChatService, body: dict, headers: dict | None = None) -> list[dict]:
    reply = await service.stream("application/json", orjson.dumps(body), headers)
    if isinstance(reply.body, bytes):
        return [orjson.loads(reply.body)]
    return [orjson.loads(line) async for line in reply.body]


async def test_a_streamed_answer_is_one_server_span_with_a_child_per_stage(
    opened, recorded, mock_model, fake_search
):
    await _stream(_service(recorded, opened), question("What does it cost?"))

    spans = recorded.finished()
    assert set(spans) == {"server", "query", "search", "embedding", "answer"}
    server = spans["server"]
    assert server.name == "POST /api/chat/stream"
    for stage in ("query", "search", "answer"):
        assert spans[stage].parent.span_id == server.context.span_id
        assert spans[stage].context.trace_id == server.context.trace_id
    assert spans["embedding"].parent.span_id == spans["search"].context.span_id
    assert spans["embedding"].name == "embeddings text-embedding-3-small"
    assert spans["answer"].name == "chat gpt-4o-mini"
    assert spans["search"].attributes["chat.search.results"] == 2


async def test_the_model_span_follows_the_genai_conventions(
    opened, recorded, mock_model, fake_search
):
    lines = await _stream(_service(recorded, opened), question("What does it cost?"))

    usage = lines[-1]["context"]["usage"]
    answer = recorded.finished()["answer"].attributes
    assert answer["gen_ai.operation.name"] == "chat"
    assert answer["gen_ai.request.model"] == "gpt-4o-mini"
    assert answer["gen_ai.response.model"] == "gpt-4o-mini"
    assert answer["gen_ai.usage.input_tokens"] == usage["input_tokens"]
    assert answer["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert answer["gen_ai.response.finish_reasons"] == ("stop",)
    assert answer["chat.time_to_first_token_ms"] > 0


async def test_the_server_span_ends_after_the_last_line_and_says_how_the_answer_went(
    opened, recorded, mock_model, fake_search
):
    service = _service(recorded, opened)
    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))
    body = aiter(reply.body)
    lines = [await anext(body)]
    assert "server" not in recorded.finished()  # open while lines remain to be sent
    async for line in body:
        lines.append(line)
        last_line_at = time.time_ns()

    span = recorded.finished()["server"]
    assert span.end_time >= last_line_at
    server = span.attributes
    assert server["chat.outcome"] == "complete"
    assert server["chat.lines"] == len(lines)
    assert server["chat.client_left"] is False
    assert server["http.response.status_code"] == 200
    assert server["chat.time_to_first_token_ms"] > 0
    assert len(server["chat.ref"]) == 12


async def test_a_caller_traceparent_makes_the_answer_part_of_its_trace(
    opened, recorded, mock_model, fake_search
):
    await _stream(_service(recorded, opened), question("Cost?"), {"traceparent": TRACEPARENT})

    server = recorded.finished()["server"]
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"


async def test_no_question_query_or_answer_text_is_recorded_by_default(
    opened, recorded, mock_model, fake_search
):
    await _stream(_service(recorded, opened), question("My secret plan?"))

    for span in recorded.spans.get_finished_spans():
        for value in span.attributes.values():
            assert "secret" not in str(value).lower()


async def test_content_is_recorded_when_asked(
    opened, recorded_with_content, mock_model, fake_search
):
    await _stream(_service(recorded_with_content, opened), question("My secret plan?"))

    spans = recorded_with_content.finished()
    assert spans["query"].attributes["chat.question"] == "My secret plan?"
    assert spans["search"].attributes["chat.search.query"] == "my secret plan"
    assert spans["answer"].attributes["gen_ai.output.messages"] == "You asked: My secret plan?"
    assert "My secret plan?" in spans["answer"].attributes["gen_ai.input.messages"]


async def test_a_buffered_answer_ends_its_span_with_the_whole_body(
    opened, recorded, mock_model, fake_search
):
    reply = await _service(recorded, opened).buffered_stream(
        "application/json", orjson.dumps(question("Cost?"))
    )

    assert isinstance(reply.body, bytes)
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "complete"
    assert server["chat.lines"] == reply.body.count(b"\n")


async def test_the_completion_route_is_traced_as_its_own_route(
    opened, recorded, mock_model, fake_search
):
    reply = await _service(recorded, opened).complete(
        "application/json", orjson.dumps(question("Cost?"))
    )

    assert reply.status == 200
    server = recorded.finished()["server"]
    assert server.name == "POST /api/chat"
    assert server.attributes["chat.outcome"] == "complete"


async def test_a_stream_cut_by_the_model_shows_as_cut(opened, recorded, mock_model, fake_search):
    mock_model.cut_after = 4  # filter results, role, two words: then the connection drops

    lines = await _stream(_service(recorded, opened), question("Tell me everything"))

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
    reply = await _service(recorded, opened).stream(
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

    lines = await _stream(_service(recorded, opened), question("Cost?"))

    assert lines[0]["error"]["code"] == "search_unavailable"
    spans = recorded.finished()
    assert "answer" not in spans
    assert spans["search"].attributes["error.type"] == "search_unavailable"
    assert spans["search"].status.status_code is StatusCode.ERROR
    assert spans["server"].attributes["chat.outcome"] == "failed"
    assert spans["server"].attributes["http.response.status_code"] == 503
    assert lines[0]["error"]["ref"] == spans["server"].attributes["chat.ref"]


async def test_a_throttled_model_is_retried_and_counted(opened, recorded, mock_model, fake_search):
    mock_model.failures = [(429, {"retry-after": "0"})]
    service = _service(recorded, opened, model_retry_seconds=5, retrieval="off")

    lines = await _stream(service, question("Cost?"))

    assert lines[-1]["context"]["finish_reason"] == "stop"
    server = recorded.finished()["server"].attributes
    assert server["chat.retries"] == 1
    assert server["chat.rate_limited"] is True
    (throttled,) = recorded.metric_points("chat.upstream.throttled")
    assert throttled.value == 1


async def test_a_refused_request_is_counted_by_its_reason(
    opened, recorded, mock_model, fake_search
):
    reply = await _service(recorded, opened).stream("text/plain", b"hello")

    assert reply.status == 415
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "refused"
    (refused,) = recorded.metric_points("chat.requests.refused")
    assert refused.attributes["chat.refusal.reason"] == "unsupported_media_type"
    assert not recorded.metric_points("chat.answers")


async def test_answers_leave_outcome_duration_first_token_and_token_metrics(
    opened, recorded, mock_model, fake_search
):
    lines = await _stream(_service(recorded, opened), question("Cost?"))

    usage = lines[-1]["context"]["usage"]
    (answers,) = recorded.metric_points("chat.answers")
    assert answers.attributes == {"http.route": "/api/chat/stream", "chat.outcome": "complete"}
    assert recorded.metric_points("chat.answer.duration")[0].count == 1
    assert recorded.metric_points("chat.answer.time_to_first_token")[0].count == 1
    tokens = {
        p.attributes["gen_ai.token.type"]: p.value
        for p in recorded.metric_points("chat.tokens")
        if p.attributes["chat.stage"] == "answer"
    }
    assert tokens == {"input": usage["input_tokens"], "output": usage["output_tokens"]}
    (open_streams,) = recorded.metric_points("chat.streams.open")
    assert open_streams.value == 0  # opened and closed again


async def test_reasoning_tokens_are_recorded_from_a_responses_style_usage(recorded):
    trace = recorded.telemetry.request("/api/chat/stream")
    usage = {
        "input_tokens": 3,
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 6},
    }

    async def model() -> AsyncIterator[End]:
        yield End("stop", usage, "gpt-5.4-mini-2026-03-17")

    [event async for event in trace.model_stream(model(), "gpt-5.4-mini", None)]

    answer = recorded.finished()["answer"].attributes
    assert answer["gen_ai.usage.input_tokens"] == 3
    assert answer["gen_ai.usage.output_tokens"] == 9
    assert answer["gen_ai.usage.reasoning_tokens"] == 6
    assert answer["gen_ai.response.model"] == "gpt-5.4-mini-2026-03-17"


# ---- Requests that end unexpectedly ------------------------------------------------------------


async def test_an_unexpected_failure_before_the_answer_ends_the_span_as_an_internal_error(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    service = _service(recorded, opened)

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

    reply = await _service(recorded, opened).complete(
        "application/json", orjson.dumps(question("Cost?"))
    )

    assert reply.status == 500
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["error.type"] == "internal_error"
    assert server["chat.client_left"] is False


async def test_an_unexpected_failure_mid_stream_ends_the_span_as_failed_not_as_a_client_gone(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    proceed = asyncio.Event()
    monkeypatch.setattr(service_module, "stream_chat", _breaks_when_told(proceed))
    service = _service(recorded, opened, opening_window_seconds=0.01)
    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))
    assert reply.status == 200  # the stream has begun
    proceed.set()

    with pytest.raises(RuntimeError):  # the HTTP layer turns it into an internal_error line
        [line async for line in reply.body]

    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["error.type"] == "internal_error"
    assert server["chat.client_left"] is False
    (open_streams,) = recorded.metric_points("chat.streams.open")
    assert open_streams.value == 0


async def test_a_client_that_leaves_a_whole_reply_ends_the_span_as_client_left(
    opened, recorded, mock_model, fake_search, monkeypatch
):
    mock_model.chunk_gap = 0.2
    monkeypatch.setattr(runtime, "_service", _service(recorded, opened))
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


# ---- The search query's model call -------------------------------------------------------------


async def test_the_search_query_span_records_its_token_usage(
    opened, recorded, mock_model, fake_search
):
    await _stream(_service(recorded, opened), question("What does it cost?"))

    query = recorded.finished()["query"].attributes
    assert query["gen_ai.usage.input_tokens"] == COMPLETION_PROMPT_TOKENS
    assert query["gen_ai.usage.output_tokens"] == 4  # "what does it cost"
    assert query["gen_ai.response.model"] == "gpt-4o-mini"
    tokens = {
        (p.attributes["chat.stage"], p.attributes["gen_ai.token.type"]): p.value
        for p in recorded.metric_points("chat.tokens")
    }
    assert tokens[("query", "input")] == COMPLETION_PROMPT_TOKENS
    assert tokens[("query", "output")] == 4
