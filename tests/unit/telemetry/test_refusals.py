"""Refusals and throttling as telemetry: a refusal by one of the app's own limits is counted in
`chat.requests.refused` with its reason and limit, apart from the model's throttling; a throttled
search (a real search client against a loopback stand-in answering 429 or 503) is counted in
`chat.upstream.throttled` as the model's 429s are, and marks the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from chat_api.limits.answer import prompt_tokens
from chat_api.protocol import ChatRequest
from chat_api.settings import Limits
from tests.support.ndjson import question
from tests.support.search_mock import DOCUMENTS
from tests.unit.telemetry.recording import Recorded, recorded_service, streamed_lines

# Admission reserves an answer's prompt estimate and its output cap: a token limit of exactly that
# admits one answer, and no second one once the first one's tokens are spent.
OUTPUT_CAP = 100
RESERVED = (
    prompt_tokens(ChatRequest.model_validate(question("Cost?")), Limits().max_history_tokens)
    + OUTPUT_CAP
)


def _refusals(recorded: Recorded) -> list[dict[str, Any]]:
    return [dict(p.attributes) for p in recorded.metric_points("chat.requests.refused")]


def _assert_refused_by(recorded: Recorded, code: str, limit: str, body: bytes) -> None:
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "refused"
    assert server["error.type"] == code
    assert server["chat.limit"] == limit
    assert "chat.rate_limited" not in server
    assert orjson.loads(body)["error"]["ref"] == server["chat.ref"]
    assert _refusals(recorded) == [
        {"http.route": "/api/chat/stream", "chat.refusal.reason": code, "chat.limit": limit}
    ]
    assert not recorded.metric_points("chat.upstream.throttled")


# ---- The app's own limits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "code", "limit"),
    [
        ("client_requests_per_minute", 1, "rate_limited", "requests_per_minute"),
        ("client_tokens_per_day", RESERVED, "rate_limited", "tokens_per_day"),
        ("daily_token_budget", RESERVED, "budget_exhausted", "daily_budget"),
    ],
)
async def test_a_request_over_a_counted_limit_is_a_refusal_not_throttling(
    opened, recorded, mock_model, fake_search, setting, value, code, limit
):
    # One network's share of the budget off: the limit under test is the only one reached.
    changes = {setting: value, "max_output_tokens": OUTPUT_CAP, "network_budget_share": 0}
    service = recorded_service(recorded, opened, **changes)
    await streamed_lines(service, question("Cost?"))  # one answer: one request, its tokens counted
    recorded.spans.clear()

    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))

    assert reply.status == 429
    _assert_refused_by(recorded, code, limit, reply.body)
    (answers,) = recorded.metric_points("chat.answers")  # the first one only
    assert answers.attributes["chat.outcome"] == "complete"


async def test_an_instance_answering_all_it_may_refuses_as_busy(
    opened, recorded, mock_model, fake_search
):
    mock_model.chunk_gap = 0.2
    service = recorded_service(recorded, opened, max_concurrent_answers=1)
    first = await service.stream("application/json", orjson.dumps(question("Slow?")))

    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))
    refused = recorded.finished()["server"]
    await first.body.aclose()

    assert reply.status == 503
    assert refused.attributes["chat.outcome"] == "refused"
    assert refused.attributes["chat.limit"] == "concurrent_answers"
    assert _refusals(recorded) == [
        {
            "http.route": "/api/chat/stream",
            "chat.refusal.reason": "busy",
            "chat.limit": "concurrent_answers",
        }
    ]


async def test_a_question_over_the_prompt_budget_is_a_refusal(
    opened, recorded, mock_model, fake_search
):
    service = recorded_service(recorded, opened, limits=Limits(max_history_tokens=200))

    reply = await service.stream("application/json", orjson.dumps(question("why " * 400)))

    assert reply.status == 413
    _assert_refused_by(recorded, "too_large", "prompt_budget", reply.body)
    assert not mock_model.requests  # never reached the model


async def test_the_models_own_429_is_a_failed_answer_and_throttling_not_a_refusal(
    opened, recorded, mock_model, fake_search
):
    mock_model.failures = [(429, {"retry-after": "30"})]  # past the retry budget: not retried
    # Room for the failure to come within the opening window however busy the machine is.
    service = recorded_service(recorded, opened, retrieval="off", opening_window_seconds=30.0)

    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))

    assert reply.status == 429
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["error.type"] == "rate_limited"
    assert server["chat.rate_limited"] is True
    assert server["chat.throttled_by"] == ("model",)
    assert "chat.limit" not in server
    assert not _refusals(recorded)
    (throttled,) = recorded.metric_points("chat.upstream.throttled")
    assert (throttled.attributes, throttled.value) == ({"chat.upstream": "model"}, 1)


# ---- A throttled search service ----------------------------------------------------------------


class ThrottlingSearch:
    """Answers the search POST with `statuses` in turn, then with the documents."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.searches = 0

    async def search(self, request: web.Request) -> web.Response:
        self.searches += 1
        if self.statuses:
            status = self.statuses.pop(0)
            error = {"error": {"code": "", "message": "Too many requests."}}
            return web.json_response(error, status=status, headers={"Retry-After": "0"})
        documents = [
            {k: v for k, v in d.items() if k not in ("@search.captions",)} for d in DOCUMENTS
        ]
        return web.json_response({"value": documents})


@pytest.fixture
async def throttling_search() -> AsyncIterator[tuple[ThrottlingSearch, str]]:
    search = ThrottlingSearch()
    app = web.Application()
    app.router.add_post("/indexes('{name}')/docs/search.post.search", search.search)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield search, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_search_throttled_and_retried_is_counted_and_marks_the_answer(
    opened, recorded, mock_model, throttling_search
):
    search, endpoint = throttling_search
    search.statuses = [503, 503]  # the search client tries again twice
    service = recorded_service(recorded, opened, azure_search_endpoint=endpoint)

    lines = await streamed_lines(service, question("Cost?"))

    assert lines[-1]["context"]["finish_reason"] == "stop"
    assert search.searches == 3
    spans = recorded.finished()
    assert spans["server"].attributes["chat.outcome"] == "complete"
    assert spans["server"].attributes["chat.rate_limited"] is True
    assert spans["server"].attributes["chat.throttled_by"] == ("search",)
    events = [e for e in spans["search"].events if e.name == "upstream_throttled"]
    assert [e.attributes["http.response.status_code"] for e in events] == [503, 503]
    (throttled,) = recorded.metric_points("chat.upstream.throttled")
    assert (throttled.attributes, throttled.value) == ({"chat.upstream": "search"}, 2)


async def test_a_search_throttled_past_its_retries_fails_the_answer_and_counts_each_429(
    opened, recorded, mock_model, throttling_search
):
    search, endpoint = throttling_search
    search.statuses = [429, 429, 429]  # the first try and both of the client's retries
    service = recorded_service(recorded, opened, azure_search_endpoint=endpoint)

    lines = await streamed_lines(service, question("Cost?"))

    assert lines[-1]["error"]["code"] == "search_unavailable"  # a status or a last line
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["chat.throttled_by"] == ("search",)
    assert not _refusals(recorded)
    (throttled,) = recorded.metric_points("chat.upstream.throttled")
    assert (throttled.attributes, throttled.value) == ({"chat.upstream": "search"}, 3)


async def test_an_answer_past_its_deadline_is_a_failure_whose_line_finds_its_trace(
    opened, recorded, mock_model, fake_search
):
    mock_model.chunk_gap = 0.5  # the whole answer takes seconds
    service = recorded_service(recorded, opened, answer_timeout_seconds=0.3)

    lines = await streamed_lines(service, question("Slow?"))

    server = recorded.finished()["server"].attributes
    assert lines[-1]["error"]["code"] == "timeout"
    assert lines[-1]["error"]["ref"] == server["chat.ref"]
    assert server["chat.outcome"] == "failed"
    assert server["error.type"] == "timeout"
    assert not _refusals(recorded)


async def test_the_models_throttling_told_inside_its_stream_is_counted_once(
    opened, recorded, mock_model, fake_search
):
    failed = {"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded"}}}
    mock_model.script = [b"event: response.failed\ndata: " + orjson.dumps(failed) + b"\n\n"]
    service = recorded_service(
        recorded, opened, model_api="responses", retrieval="off", opening_window_seconds=30.0
    )

    reply = await service.stream("application/json", orjson.dumps(question("Cost?")))

    assert reply.status == 429
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "failed"
    assert server["chat.throttled_by"] == ("model",)
    assert not _refusals(recorded)
    (throttled,) = recorded.metric_points("chat.upstream.throttled")
    assert (throttled.attributes, throttled.value) == ({"chat.upstream": "model"}, 1)
