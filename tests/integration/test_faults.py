"""What the client sees when the model misbehaves, and that the model is released when the
client leaves."""

from __future__ import annotations

import httpx
import pytest

from standins.model_answers import MALFORMED_EVENTS
from standins.waiting import wait_until
from tests.support.ndjson import answer_text, failure, live_lines, parse_lines, question, steps


def test_a_rate_limited_model_gives_429_with_retry_after(app_server, model_server):
    model_server.reset()

    response = httpx.post(app_server.url + "/api/chat", json=question("busy? #429"), timeout=10)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["access-control-expose-headers"] == "Retry-After"  # cross-origin pages
    assert response.json()["error"]["code"] == "rate_limited"
    # Retried within the budget, honouring Retry-After, before giving up.
    assert model_server.stats()["requests"] == 2


def test_a_throttled_stream_that_already_began_ends_with_the_code_and_the_wait(
    app_server, model_server
):
    model_server.reset()

    response = httpx.post(
        app_server.url + "/api/chat/stream", json=question("busy? #429"), timeout=10
    )

    # The retry (after the model's 1 s Retry-After) outlasts the opening window: the steps are
    # already on the wire, so the failure is the last line, with what the status would have said.
    assert response.status_code == 200
    assert steps(parse_lines(response.content))
    assert failure(response) == {
        "code": "rate_limited",
        "message": "The model is busy (rate limited). Try again in 1 seconds.",
        "retry_after_seconds": 1,
        "status": 200,
    }
    assert model_server.stats()["requests"] == 2


def test_a_throttled_stream_within_the_opening_window_is_an_http_429(start_app, model_server):
    # A window far longer than the model's refusal takes, however busy the machine (the refusal
    # is immediate: its Retry-After passes the budget).
    with start_app({"CHAT_OPENING_WINDOW_SECONDS": "30"}) as server:
        response = httpx.post(
            server.url + "/api/chat/stream", json=question("busy? #429long"), timeout=10
        )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["error"]["code"] == "rate_limited"
    assert response.json()["error"]["retry_after_seconds"] == 30


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_a_failing_model_gives_502(app_server, route):
    response = httpx.post(app_server.url + route, json=question("fail #500"), timeout=10)

    assert failure(response) == {
        "code": "model_error",
        "message": "The model service returned an error.",
        "status": 200 if route.endswith("stream") else 502,
    }


def test_a_transient_failure_is_retried_and_the_answer_comes(app_server, model_server):
    model_server.reset()

    response = httpx.post(
        app_server.url + "/api/chat/stream", json=question("once more #flaky"), timeout=10
    )

    assert response.status_code == 200
    assert parse_lines(response.content)[-1]["context"]["finish_reason"] == "stop"
    assert model_server.stats()["requests"] == 2


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_a_model_that_never_answers_gives_504(app_server, route):
    response = httpx.post(app_server.url + route, json=question("#hang"), timeout=15)

    error = failure(response)
    assert error["code"] == "model_timeout"
    assert error["status"] == (200 if route.endswith("stream") else 504)


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


@pytest.fixture(scope="module")
def patient_app(start_app):
    """A model timeout far past any wait here: only a client leaving closes a model stream."""
    with start_app({"CHAT_MODEL_TIMEOUT_SECONDS": "120"}) as server:
        yield server


@pytest.mark.parametrize("directive", ["#slow", "#stall"])
def test_the_model_stream_is_closed_when_the_client_goes_away(patient_app, model_server, directive):
    model_server.reset()
    with httpx.stream(
        "POST", patient_app.url + "/api/chat/stream", json=question(f"leave {directive}")
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if '"content"' in line:
                break
        assert model_server.stats()["active"] == 1
    # The client closed its connection; the app closes the model's stream (the stand-in would
    # otherwise go on for seconds, or for an hour when it stalls).
    assert wait_until(lambda: model_server.stats()["aborted"] == 1)
    assert model_server.stats()["active"] == 0


def test_the_app_keeps_serving_after_faults(app_server):
    for directive in ("#cut", "#error", "#filter"):
        httpx.post(app_server.url + "/api/chat/stream", json=question(directive))

    response = httpx.post(app_server.url + "/api/chat/stream", json=question("still fine?"))

    assert parse_lines(response.content)[-1]["context"]["finish_reason"] == "stop"


@pytest.mark.parametrize("shape", sorted(MALFORMED_EVENTS))
def test_a_model_event_of_an_unexpected_shape_ends_the_stream_with_an_error_line(
    app_server, model_server, shape
):
    model_server.reset()
    # The stand-in sends each word once the one before has arrived here, so the answer has begun
    # before the odd event comes, however busy the machine (all in one read, it would not have).
    lines = []
    with httpx.stream(
        "POST",
        app_server.url + "/api/chat/stream",
        json=question(f"Odd #shape-{shape} #lockstep"),
        timeout=30,
    ) as response:
        for line in live_lines(response):
            lines.append(line)
            if line.get("delta", {}).get("content"):
                model_server.release()

    assert response.status_code == 200
    assert lines[-1]["error"]["code"] == "model_error"
    contents = [line["delta"]["content"] for line in lines[:-1] if "content" in line["delta"]]
    assert all(isinstance(text, str) for text in contents)


@pytest.mark.parametrize("shape", ["null", "number"])
def test_a_model_event_of_an_unexpected_shape_is_a_502_on_the_buffered_route(app_server, shape):
    response = httpx.post(app_server.url + "/api/chat", json=question(f"Odd #shape-{shape}"))

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "model_error"
