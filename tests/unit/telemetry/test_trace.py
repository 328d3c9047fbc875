"""Each answer as one trace: a server span with a child span per stage, part of the caller's
trace when it sends a `traceparent`, open until the last line is sent, for answers streamed,
buffered and whole (the completion route). The real host talks to the mocked model over loopback
HTTP; the trace's lifetime and the current span are checked over a scripted model."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import AsyncIterator, Mapping

import orjson
import pytest
from opentelemetry import trace

from chat_api.events import End, TextDelta
from chat_api.service import ChatService
from chat_api.settings import Settings
from chat_api.telemetry.answer import AnswerTrace
from tests.support.ndjson import question
from tests.support.scripted_host import ScriptedHost
from tests.unit.telemetry.recording import recorded_service, streamed_lines

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_a_streamed_answer_is_one_server_span_with_a_child_per_stage(
    opened, recorded, mock_model, fake_search
):
    follow_up = question("What does it cost?", "Does it stream?", "Yes.")
    await streamed_lines(recorded_service(recorded, opened), follow_up)

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


async def test_a_first_question_has_no_search_query_span(opened, recorded, mock_model, fake_search):
    await streamed_lines(recorded_service(recorded, opened), question("What does it cost?"))

    spans = recorded.finished()
    assert set(spans) == {"server", "search", "embedding", "answer"}


async def test_the_server_span_ends_after_the_last_line_and_says_how_the_answer_went(
    opened, recorded, mock_model, fake_search
):
    service = recorded_service(recorded, opened)
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
    assert "chat.client_left" not in server
    assert server["http.response.status_code"] == 200
    assert server["chat.time_to_first_token_ms"] > 0
    assert len(server["chat.ref"]) == 12


async def test_a_caller_traceparent_makes_the_answer_part_of_its_trace(
    opened, recorded, mock_model, fake_search
):
    await streamed_lines(
        recorded_service(recorded, opened), question("Cost?"), {"traceparent": TRACEPARENT}
    )

    server = recorded.finished()["server"]
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"


async def test_a_buffered_answer_ends_its_span_with_the_whole_body(
    opened, recorded, mock_model, fake_search
):
    reply = await recorded_service(recorded, opened).buffered_stream(
        "application/json", orjson.dumps(question("Cost?"))
    )

    assert isinstance(reply.body, bytes)
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "complete"
    assert server["chat.lines"] == reply.body.count(b"\n")


async def test_the_completion_route_is_traced_as_its_own_route(
    opened, recorded, mock_model, fake_search
):
    reply = await recorded_service(recorded, opened).complete(
        "application/json", orjson.dumps(question("Cost?"))
    )

    assert reply.status == 200
    server = recorded.finished()["server"]
    assert server.name == "POST /api/chat"
    assert server.attributes["chat.outcome"] == "complete"


async def test_an_answer_s_trace_is_freed_when_it_ends_not_left_to_the_garbage_collector(
    recorded, monkeypatch: pytest.MonkeyPatch
):
    # A model that needs no network: an HTTP client's timers would keep the last answers'
    # contexts reachable a while, whether or not the answer's objects form a cycle.
    host = ScriptedHost(["It ", "costs ", "nothing."])
    service = ChatService(Settings(), host, telemetry=recorded.telemetry)
    made: list[weakref.ref] = []
    request = recorded.telemetry.request

    def noted_request(route: str, headers: Mapping[str, str] | None = None) -> AnswerTrace:
        answer = request(route, headers)
        made.extend((weakref.ref(answer), weakref.ref(answer.span)))
        return answer

    monkeypatch.setattr(recorded.telemetry, "request", noted_request)
    gc.disable()  # only reference counting frees anything now: a cycle would stay
    try:
        await streamed_lines(service, question("What does it cost?"))
        outcome = recorded.finished()["server"].attributes["chat.outcome"]
        recorded.spans.clear()  # the exported spans, which the exporter keeps
        left = [type(ref()).__name__ for ref in made if ref() is not None]
    finally:
        gc.enable()

    assert outcome == "complete"
    assert len(made) == 2
    assert left == []  # freed when the answer ended, not at some later collection


class SpanWatchingHost(ScriptedHost):
    """Notes which span is current each time the model hands over a word."""

    def __init__(self) -> None:
        super().__init__(["It ", "costs ", "nothing."])
        self.current: list[str] = []

    async def stream_answer(self, prompt: object) -> AsyncIterator[TextDelta | End]:
        for word in self.words:
            self.current.append(getattr(trace.get_current_span(), "name", ""))
            yield TextDelta(word)
        yield End()


async def test_the_model_s_span_is_current_while_it_streams_and_not_after(recorded):
    host = SpanWatchingHost()
    service = ChatService(Settings(), host, telemetry=recorded.telemetry)

    await streamed_lines(service, question("What does it cost?"))

    assert host.current == ["chat scripted-model"] * 3
    assert trace.get_current_span() is trace.INVALID_SPAN
