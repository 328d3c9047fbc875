"""The app as a process exports its telemetry over OTLP/HTTP to a stand-in collector on loopback:
each answer arrives as one trace under the caller's traceparent, its server span ending after the
last line was read, with logs carrying the same trace and the metrics alongside."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from standins import processes
from standins.collector import Collector, collector
from standins.model_answers import answer_words
from standins.processes import AppServer, ModelServer
from tests.conftest import model_env
from tests.support.ndjson import question
from tests.support.polling import wait_for

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def traced_app(model_server: ModelServer) -> Iterator[tuple[AppServer, Collector]]:
    with collector() as sink:
        env = {
            **model_env(model_server),
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
        }
        with processes.app_server(env) as app:
            yield app, sink


def _attributes(span: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}


def _trace(sink: Collector, trace_id: str, count: int) -> list[Span]:
    """The trace's spans once `count` of them have arrived."""

    def arrived() -> list[Span]:
        spans = [s for s in sink.spans() if s.trace_id.hex() == trace_id]
        return spans if len(spans) >= count else []

    return wait_for(arrived)


def _server(spans: list[Span]) -> Span:
    (server,) = [s for s in spans if s.kind == Span.SpanKind.SPAN_KIND_SERVER]
    return server


def test_an_answer_arrives_as_one_trace_under_the_callers_span(traced_app):
    app, sink = traced_app
    headers = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}

    response = httpx.post(
        app.url + "/api/chat/stream", json=question("Trace me"), headers=headers, timeout=30
    )

    assert response.status_code == 200
    spans = _trace(sink, TRACE_ID, 2)
    server = _server(spans)
    (answer,) = [s for s in spans if s is not server]
    assert server.parent_span_id.hex() == CALLER_SPAN
    assert answer.parent_span_id == server.span_id
    model = httpx.get(app.url + "/api/health", timeout=10).json()["model"]
    assert _attributes(answer)["gen_ai.request.model"] == model
    assert _attributes(server)["chat.outcome"] == "complete"
    assert _attributes(server)["chat.lines"] == len(response.content.splitlines())


def test_the_server_span_ends_after_the_last_line_was_read(traced_app, model_server):
    app, sink = traced_app
    model_server.reset()
    trace_id = "5c1e0f3a9b7d4e2f8a6b4c2d0e1f3a5b"
    headers = {"traceparent": f"00-{trace_id}-{CALLER_SPAN}-01"}
    text = "Take your time #lockstep"
    words = len(answer_words(text, 20))
    read = 0
    # The stand-in sends each word once the one before has been read here, so the answer's last
    # word (and its end line) leaves only after `text_read_at`.
    with httpx.stream(
        "POST", app.url + "/api/chat/stream", json=question(text), headers=headers, timeout=30
    ) as response:
        for line in response.iter_lines():
            if line and "content" in orjson.loads(line)["delta"]:
                read += 1
                if read < words:
                    text_read_at = time.time_ns()
                    model_server.release()
        finished_at = time.time_ns()

    assert read == words
    server = _server(_trace(sink, trace_id, 2))
    assert server.end_time_unix_nano >= text_read_at
    assert server.start_time_unix_nano < text_read_at < finished_at
    assert _attributes(server)["chat.time_to_first_token_ms"] > 0


def test_an_error_reference_finds_the_trace_and_its_log_lines(traced_app):
    app, sink = traced_app

    response = httpx.post(app.url + "/api/chat/stream", json=question("cut me #cut"), timeout=30)

    error = orjson.loads(response.content.splitlines()[-1])["error"]
    assert error["code"] == "stream_interrupted"
    spans = wait_for(lambda: [s for s in sink.spans() if s.trace_id.hex().startswith(error["ref"])])
    server = _server(_trace(sink, spans[0].trace_id.hex(), 2))
    assert _attributes(server)["chat.outcome"] == "cut"
    logs = wait_for(lambda: [r for r in sink.log_records() if r.trace_id == server.trace_id])
    assert any(error["ref"] in r.body.string_value for r in logs)


def test_the_metrics_arrive_with_their_names(traced_app):
    app, sink = traced_app
    httpx.post(app.url + "/api/chat/stream", json=question("Count me"), timeout=30)

    expected = {
        "chat.answers",
        "chat.answer.duration",
        "chat.answer.time_to_first_token",
        "chat.tokens",
    }

    # Each export carries what was recorded by then: wait for every name, not for the first.
    names = wait_for(lambda: sink.metric_names() if expected <= sink.metric_names() else None)
    assert expected <= names
