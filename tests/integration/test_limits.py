"""The limits for a public endpoint over real HTTP: the app as a process, clients on their own
loopback addresses (127.0.0.x), the model a stand-in server that reports 30 tokens an answer.

Admission reserves an answer's prompt (about 4 tokens for "hi") and its output cap, here 20
tokens (`SMALL_CAP`), and refuses it when that does not fit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from standins.waiting import wait_until
from tests.support.ndjson import live_lines, parse_lines, question, read_until_step

STREAM = "/api/chat/stream"
SMALL_CAP = {"CHAT_MAX_OUTPUT_TOKENS": "20"}


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
    """Per-client limits on: 3 requests a minute, 60 tokens a day (two answers, and no room for
    a third's reservation)."""
    with start_app(
        {"CHAT_CLIENT_REQUESTS_PER_MINUTE": "3", "CHAT_CLIENT_TOKENS_PER_DAY": "60", **SMALL_CAP}
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

    assert (first.status_code, second.status_code) == (200, 200)  # 30, then 60 of 60 tokens
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
        start_app(
            {"CHAT_STREAMING": "false", "CHAT_CLIENT_TOKENS_PER_DAY": "25", **SMALL_CAP}
        ) as app,
        client("127.0.0.8") as http,
    ):
        assert http.post(app.url + "/api/chat", json=question("hi")).status_code == 200
        for spoof in ({"X-Forwarded-For": "198.51.100.1"}, {"Client-IP": "198.51.100.2"}):
            response = http.post(app.url + STREAM, json=question("hi"), headers=spoof)
            assert response.status_code == 429
        with client("127.0.0.9") as other:
            assert other.post(app.url + "/api/chat", json=question("hi")).status_code == 200


def test_a_spent_daily_budget_gives_every_client_429_budget_exhausted(start_app):
    with start_app({"CHAT_DAILY_TOKEN_BUDGET": "60", **SMALL_CAP}) as app:
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


# ---- Every answer that reaches the model is charged ---------------------------------------------

REASONING_APP = {
    "OPENAI_API_STYLE": "responses",
    "OPENAI_CHAT_MODEL": "gpt-5.4-mini",
    "CHAT_REASONING_EFFORT": "low",
    "CHAT_MAX_OUTPUT_TOKENS": "100",
}


def _think_then_leave(http: httpx.Client, url: str) -> int:
    """Ask, read until the model's thinking is on the wire, and leave before any word."""
    with http.stream("POST", url + STREAM, json=question("Think hard #held")) as response:
        if response.status_code == 200:
            read_until_step(live_lines(response), "Thinking")
        return response.status_code


def test_a_client_that_leaves_while_the_model_thinks_is_refused_once_its_reservations_fill_its_day(
    start_app, model_server
):
    model_server.reset()
    # Each answer reserves its prompt (10) and output cap (100), and is charged that when its
    # client leaves while a reasoning model thinks: the fourth no longer fits in 350.
    with (
        start_app({**REASONING_APP, "CHAT_CLIENT_TOKENS_PER_DAY": "350"}) as app,
        client("127.0.0.40") as http,
    ):
        statuses = [_think_then_leave(http, app.url) for _ in range(4)]
        refused = http.post(app.url + STREAM, json=question("Think hard"))
    model_server.reset()

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


def _held_answers(app, address: str, count: int, model_server) -> list[int]:
    """`count` answers from one client at once, each held at its first word until every one has
    been admitted or refused; their statuses."""
    statuses: list[int] = []

    def ask() -> None:
        with (
            client(address) as http,
            http.stream("POST", app.url + STREAM, json=question("hi #held")) as response,
        ):
            statuses.append(response.status_code)
            response.read()

    with ThreadPoolExecutor(count) as pool:
        asked = [pool.submit(ask) for _ in range(count)]
        assert wait_until(lambda: len(statuses) == count)
        for _ in range(count):
            model_server.release()
        for future in asked:
            future.result()
    return statuses


def test_answers_admitted_at_once_never_together_overshoot_the_clients_day(start_app, model_server):
    model_server.reset()
    # Each answer reserves 6 + 20 tokens: three fit in 80, whatever arrives at once.
    env = {"CHAT_CLIENT_TOKENS_PER_DAY": "80", **SMALL_CAP}
    with start_app(env) as app:
        statuses = _held_answers(app, "127.0.0.41", 8, model_server)
    model_server.reset()

    assert sorted(statuses) == [200] * 3 + [429] * 5


# ---- Networks -----------------------------------------------------------------------------------


def test_thirty_addresses_of_one_network_cannot_spend_the_apps_budget(start_app):
    # A budget of 600 tokens, of which one network may take a quarter (150: five answers of 30,
    # each reserving 24); every address of 127.0.0.0/24 asks once.
    env = {"CHAT_DAILY_TOKEN_BUDGET": "600", "CHAT_NETWORK_BUDGET_SHARE": "0.25", **SMALL_CAP}
    with start_app(env) as app:
        statuses = []
        for host in range(50, 80):
            with client(f"127.0.0.{host}") as http:
                statuses.append(http.post(app.url + STREAM, json=question("hi")).status_code)
        with client("127.0.1.50") as elsewhere:  # another network
            answered = elsewhere.post(app.url + STREAM, json=question("hi"))
        with client("127.0.0.81") as neighbour:
            refused = neighbour.post(app.url + STREAM, json=question("hi"))

    assert statuses.count(200) == 5
    assert answered.status_code == 200
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "network" in refused.json()["error"]["message"]


def test_a_network_over_its_requests_per_minute_is_refused_while_another_is_served(start_app):
    env = {"CHAT_NETWORK_REQUESTS_PER_MINUTE": "3"}
    with start_app(env) as app:
        early_in_a_minute()
        statuses = []
        for host in range(90, 94):
            with client(f"127.0.0.{host}") as http:
                statuses.append(http.post(app.url + STREAM, json=question("hi")).status_code)
        with client("127.0.2.90") as elsewhere:
            answered = elsewhere.post(app.url + STREAM, json=question("hi"))

    assert statuses == [200, 200, 200, 429]
    assert answered.status_code == 200


# ---- Who the client is --------------------------------------------------------------------------


def test_callers_without_an_address_are_served_and_logged_once_a_minute(start_app):
    # Behind a front end that should set client-ip, requests arrive without it.
    with start_app({"CHAT_CLIENT_ADDRESS_HEADER": "client-ip"}) as app:
        statuses = [
            httpx.post(app.url + STREAM, json=question("hi"), timeout=20).status_code
            for _ in range(3)
        ]
        log = app.log_once_it_has("callers cannot be told apart")

    assert statuses == [200, 200, 200]
    assert log.count("callers cannot be told apart") == 1
    assert "CHAT_CLIENT_ADDRESS_HEADER" in log


def test_invalid_requests_count_against_the_clients_requests_per_minute(start_app):
    with start_app({"CHAT_CLIENT_REQUESTS_PER_MINUTE": "3"}) as app, client("127.0.0.95") as http:
        early_in_a_minute()
        bad = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
        invalid = [http.post(app.url + STREAM, **bad).status_code for _ in range(3)]
        refused = http.post(app.url + STREAM, json=question("hi"))

    assert invalid == [400, 400, 400]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


# ---- Front Door mode ----------------------------------------------------------------------------

FRONT_DOOR_ID = "2f5c1a9e-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def front_door_app(start_app) -> Iterator:
    """Behind Azure Front Door: its profile id set, 2 requests a minute per client."""
    env = {"CHAT_FRONT_DOOR_ID": FRONT_DOOR_ID, "CHAT_CLIENT_REQUESTS_PER_MINUTE": "2"}
    with start_app(env) as app:
        yield app


@pytest.mark.parametrize(
    "route", [STREAM, "/api/chat", "/api/feedback", "/api/health", "/api/openapi.json"]
)
@pytest.mark.parametrize("sent", [None, "2f5c1a9e-0000-4000-8000-000000000002"])
def test_behind_front_door_a_request_without_its_id_is_refused_with_403(
    front_door_app, route, sent
):
    headers = {"X-Azure-SocketIP": "198.51.100.7"} | ({"X-Azure-FDID": sent} if sent else {})
    if route == "/api/feedback":
        rating = {"answer_id": "4d34e2b165a72ed37d9682d5", "rating": "up"}
        response = httpx.post(front_door_app.url + route, json=rating, headers=headers)
    elif route.startswith("/api/chat"):
        response = httpx.post(front_door_app.url + route, json=question("hi"), headers=headers)
    else:
        response = httpx.get(front_door_app.url + route, headers=headers)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_behind_front_door_the_client_is_the_socket_address_front_door_reports(front_door_app):
    def ask(socket_ip: str, client_ip: str) -> int:
        headers = {
            "X-Azure-FDID": FRONT_DOOR_ID,
            "X-Azure-SocketIP": socket_ip,
            "X-Azure-ClientIP": client_ip,  # a caller can write this one: never read
        }
        url = front_door_app.url + STREAM
        return httpx.post(url, json=question("hi"), headers=headers, timeout=20).status_code

    early_in_a_minute()
    one = [ask("198.51.100.7", f"203.0.113.{n}") for n in range(3)]
    another = ask("198.51.100.8", "203.0.113.1")

    assert one == [200, 200, 429]
    assert another == 200


def test_with_streaming_off_behind_front_door_a_request_without_its_id_is_refused(start_app):
    env = {"CHAT_STREAMING": "false", "CHAT_FRONT_DOOR_ID": FRONT_DOOR_ID}
    with start_app(env) as app:
        refused = httpx.post(app.url + STREAM, json=question("hi"), timeout=20)
        answered = httpx.post(
            app.url + STREAM,
            json=question("hi"),
            headers={"X-Azure-FDID": FRONT_DOOR_ID},
            timeout=20,
        )

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert answered.status_code == 200
