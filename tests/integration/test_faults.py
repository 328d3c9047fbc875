"""What the client sees when the model misbehaves, and that the model is released when the
client leaves."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.support.ndjson import answer_text, parse_lines, question


def _wait_for(condition, timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_a_rate_limited_model_gives_429_with_retry_after(app_server, model_server, route):
    model_server.reset()

    response = httpx.post(app_server.url + route, json=question("busy? #429"), timeout=10)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["access-control-expose-headers"] == "Retry-After"  # cross-origin pages
    assert response.json()["error"]["code"] == "rate_limited"
    # Retried within the budget, honouring Retry-After, before giving up.
    assert model_server.stats()["requests"] == 2


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_a_failing_model_gives_502(app_server, route):
    response = httpx.post(app_server.url + route, json=question("fail #500"), timeout=10)

    assert response.status_code == 502
    error = response.json()["error"]
    assert error == {
        "code": "model_error",
        "message": "The model service returned an error.",
        "ref": error["ref"],
    }
    assert re.fullmatch("[0-9a-f]{12}", error["ref"])  # finds the request's log lines


def test_a_transient_failure_is_retried_and_the_answer_comes(app_server, model_server):
    model_server.reset()

    response = httpx.post(
        app_server.url + "/api/chat/stream", json=question("once more #flaky"), timeout=10
    )

    assert response.status_code == 200
    assert parse_lines(response.content)[-1]["context"]["finish_reason"] == "stop"
    assert model_server.stats()["requests"] == 2


def test_a_model_that_never_answers_gives_504(app_server):
    response = httpx.post(app_server.url + "/api/chat/stream", json=question("#hang"), timeout=15)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "model_timeout"


def test_a_stream_cut_mid_answer_ends_with_an_error_line(app_server):
    response = httpx.post(app_server.url + "/api/chat/stream", json=question("cut me #cut"))

    lines = parse_lines(response.content)
    assert response.status_code == 200
    assert answer_text(lines)  # the part that came is kept
    assert lines[-1] == {
        "error": {
            "code": "stream_interrupted",
            "message": "The model's answer was cut off before it finished.",
            "ref": lines[-1]["error"]["ref"],
        }
    }
    assert not any("finish_reason" in line.get("context", {}) for line in lines)


def test_a_stream_that_stalls_ends_with_a_timeout_line(app_server):
    response = httpx.post(
        app_server.url + "/api/chat/stream", json=question("stall #stall"), timeout=15
    )

    assert parse_lines(response.content)[-1]["error"]["code"] == "model_timeout"


def test_an_error_event_in_the_model_stream_ends_with_an_error_line(app_server):
    response = httpx.post(app_server.url + "/api/chat/stream", json=question("#error"))

    assert parse_lines(response.content)[-1]["error"]["code"] == "model_error"


def test_a_content_filtered_answer_ends_with_a_content_filter_line(app_server):
    response = httpx.post(app_server.url + "/api/chat/stream", json=question("#filter"))

    assert parse_lines(response.content)[-1]["error"]["code"] == "content_filter"


def test_a_cut_stream_is_a_502_on_the_buffered_route(app_server):
    response = httpx.post(app_server.url + "/api/chat", json=question("cut me #cut"))

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "stream_interrupted"


@pytest.mark.parametrize("directive", ["#slow", "#stall"])
def test_the_model_stream_is_closed_when_the_client_goes_away(app_server, model_server, directive):
    model_server.reset()
    with httpx.stream(
        "POST", app_server.url + "/api/chat/stream", json=question(f"leave {directive}")
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if '"content"' in line:
                break
        assert model_server.stats()["active"] == 1
    # The client closed its connection; the app must close the model's stream within a second.
    assert _wait_for(lambda: model_server.stats()["aborted"] == 1, timeout=1.0)
    assert model_server.stats()["active"] == 0


def test_the_app_keeps_serving_after_faults(app_server):
    for directive in ("#cut", "#error", "#filter"):
        httpx.post(app_server.url + "/api/chat/stream", json=question(directive))

    response = httpx.post(app_server.url + "/api/chat/stream", json=question("still fine?"))

    assert parse_lines(response.content)[-1]["context"]["finish_reason"] == "stop"
