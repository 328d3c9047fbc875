"""The limits for a public endpoint over real HTTP: the app as a process, clients on their own
loopback addresses (127.0.0.x), the model a stand-in server that reports 30 tokens an answer."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from standins.waiting import wait_until
from tests.support.ndjson import live_lines, parse_lines, question, read_until_step

STREAM = "/api/chat/stream"


def client(address: str) -> httpx.Client:
    """An HTTP client whose connections come from the given loopback address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=20)


def early_in_a_minute() -> None:
    """Requests per minute are counted per clock minute: start a count well inside one."""
    into = time.time() % 60
    if into > 45:
        time.sleep(60 - into + 0.5)


@pytest.fixture(scope="module")
def limited_app(start_app) -> Iterator:
    """Per-client limits on: 3 requests a minute, 45 tokens a day (the second answer is over)."""
    with start_app(
        {"CHAT_CLIENT_REQUESTS_PER_MINUTE": "3", "CHAT_CLIENT_TOKENS_PER_DAY": "45"}
    ) as app:
        yield app


def test_a_client_over_its_requests_per_minute_gets_429_rate_limited_with_retry_after(start_app):
    with start_app({"CHAT_CLIENT_REQUESTS_PER_MINUTE": "2"}) as app, client("127.0.0.2") as http:
        early_in_a_minute()
        statuses = [http.post(app.url + STREAM, json=question("hi")).status_code for _ in range(2)]
        refused = http.post(app.url + "/api/chat", json=question("hi"))

        assert statuses == [200, 200]
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["access-control-expose-headers"] == "Retry-After"
        with client("127.0.0.3") as other:  # everyone else is still served
            assert other.post(app.url + STREAM, json=question("hi")).status_code == 200


def test_a_client_over_its_tokens_for_the_day_gets_429_until_midnight_utc(limited_app):
    with client("127.0.0.4") as http:
        first = http.post(limited_app.url + STREAM, json=question("hi"))
        second = http.post(limited_app.url + STREAM, json=question("hi"))
        refused = http.post(limited_app.url + STREAM, json=question("hi"))

    assert (first.status_code, second.status_code) == (200, 200)  # 30, then 60 of 45 tokens
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    midnight = (time.time() // 86_400 + 1) * 86_400
    assert abs(int(refused.headers["retry-after"]) - (midnight - time.time())) < 30


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Client-IP", "Client-IP", "Forwarded"])
def test_a_header_the_client_sends_does_not_reset_its_limit(limited_app, header):
    address = {"X-Forwarded-For": "127.0.0.5", "X-Client-IP": "127.0.0.6"}.get(header, "127.0.0.7")
    with client(address) as http:
        http.post(limited_app.url + STREAM, json=question("hi"))
        http.post(limited_app.url + STREAM, json=question("hi"))
        spoofed = {header: "198.51.100.99" if header != "Forwarded" else "for=198.51.100.99"}
        response = http.post(limited_app.url + STREAM, json=question("hi"), headers=spoofed)

    assert response.status_code == 429


def test_with_streaming_off_a_spoofed_header_does_not_reset_a_limit_either(start_app):
    with (
        start_app({"CHAT_STREAMING": "false", "CHAT_CLIENT_TOKENS_PER_DAY": "25"}) as app,
        client("127.0.0.8") as http,
    ):
        assert http.post(app.url + "/api/chat", json=question("hi")).status_code == 200
        for spoof in ({"X-Forwarded-For": "198.51.100.1"}, {"Client-IP": "198.51.100.2"}):
            response = http.post(app.url + STREAM, json=question("hi"), headers=spoof)
            assert response.status_code == 429
        with client("127.0.0.9") as other:
            assert other.post(app.url + "/api/chat", json=question("hi")).status_code == 200


def test_a_spent_daily_budget_gives_every_client_429_budget_exhausted(start_app):
    with start_app({"CHAT_DAILY_TOKEN_BUDGET": "50"}) as app:
        for address in ("127.0.0.10", "127.0.0.11"):
            with client(address) as http:
                assert http.post(app.url + STREAM, json=question("hi")).status_code == 200
        with client("127.0.0.12") as newcomer:
            refused = newcomer.post(app.url + "/api/chat", json=question("hi"))

        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "budget_exhausted"
        assert "midnight UTC" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) > 0
        assert httpx.get(app.url + "/api/health").status_code == 200  # still serving


def test_over_the_in_flight_cap_a_request_gets_503_busy_at_once_not_a_hung_request(
    start_app, model_server
):
    model_server.reset()
    # The stand-in holds the first answer's first word until the refused request is back, so
    # that answer is in flight however slowly this machine runs.
    with (
        start_app({"CHAT_MAX_CONCURRENT_ANSWERS": "1", "CHAT_MODEL_TIMEOUT_SECONDS": "60"}) as app,
        httpx.stream("POST", app.url + STREAM, json=question("long #held"), timeout=30) as holder,
    ):
        lines = live_lines(holder)
        read_until_step(lines, "Generating the answer")
        refused = httpx.post(app.url + "/api/chat", json=question("hi"), timeout=30)
        model_server.release()
        held_answer = list(lines)

        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "busy"
        assert refused.headers["retry-after"] == "1"
        assert held_answer[-1]["context"]["finish_reason"] == "stop"
        # Its slot is free again once the held answer is over.
        assert wait_until(
            lambda: httpx.post(app.url + STREAM, json=question("hi"), timeout=30).status_code == 200
        )


def test_an_answer_past_its_deadline_ends_with_a_timeout_line_and_the_model_call_is_closed(
    start_app, model_server
):
    model_server.reset()

    # An 8 s answer (80 words 100 ms apart) against a 1.5 s deadline.
    with start_app({"CHAT_ANSWER_TIMEOUT_SECONDS": "1.5"}) as app:
        response = httpx.post(app.url + STREAM, json=question("long #slow"), timeout=30)

        lines = parse_lines(response.content)
        assert response.status_code == 200
        assert lines[-1]["error"]["code"] == "timeout"
        assert not any("finish_reason" in line.get("context", {}) for line in lines)
        assert wait_until(lambda: model_server.stats()["aborted"] == 1)
