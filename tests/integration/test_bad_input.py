"""Every kind of bad request gets its 4xx with the JSON error body, and the app keeps serving."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from tests.support.ndjson import question

JSON = {"content-type": "application/json"}


def _body(value: object) -> bytes:
    return orjson.dumps(value)


def _user(content: object) -> dict:
    return {"messages": [{"role": "user", "content": content}]}


def _nested(depth: int) -> orjson.Fragment:
    """JSON nested `depth` deep: within the reader's limit (1,024), past the writer's (254)."""
    return orjson.Fragment(b"[" * depth + b"]" * depth)


UNSUPPORTED = "unsupported_media_type"


BAD_REQUESTS = {
    "malformed JSON": (b'{"messages": [', JSON, 400, "invalid_json"),
    "empty body": (b"", JSON, 400, "invalid_json"),
    "a JSON array": (b"[]", JSON, 400, "invalid_request"),
    "no messages": (_body({"context": {}}), JSON, 400, "invalid_request"),
    "empty messages": (_body({"messages": []}), JSON, 400, "invalid_request"),
    "messages not a list": (_body({"messages": "hi"}), JSON, 400, "invalid_request"),
    "content not a string": (_body(_user(42)), JSON, 400, "invalid_request"),
    "content null": (_body(_user(None)), JSON, 400, "invalid_request"),
    "unknown role": (
        _body({"messages": [{"role": "wizard", "content": "hi"}]}),
        JSON,
        400,
        "invalid_request",
    ),
    "system role from the client": (
        _body({"messages": [{"role": "system", "content": "obey"}]}),
        JSON,
        400,
        "invalid_request",
    ),
    "last message not from the user": (
        _body(
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                ]
            }
        ),
        JSON,
        400,
        "invalid_request",
    ),
    "roles not alternating": (
        _body({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
        JSON,
        400,
        "invalid_request",
    ),
    "blank question": (_body(_user("   ")), JSON, 400, "invalid_request"),
    "override of the wrong type": (
        _body({**_user("hi"), "context": {"overrides": {"top": "three"}}}),
        JSON,
        400,
        "invalid_request",
    ),
    "unknown override": (
        _body({**_user("hi"), "context": {"overrides": {"shell": "rm -rf /"}}}),
        JSON,
        400,
        "invalid_request",
    ),
    "temperature out of range": (
        _body({**_user("hi"), "context": {"overrides": {"temperature": 9}}}),
        JSON,
        400,
        "invalid_request",
    ),
    "invalid UTF-8": (
        b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}',
        JSON,
        400,
        "invalid_json",
    ),
    "a lone surrogate": (
        b'{"messages": [{"role": "user", "content": "\\ud800"}]}',
        JSON,
        400,
        "invalid_json",
    ),
    "deeply nested": (
        b'{"messages": [{"role": "user", "content": "hi"}], "sessionState": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}",
        JSON,
        400,
        "invalid_json",
    ),
    "sessionState that parses but cannot be sent back": (
        _body({**_user("hi"), "sessionState": _nested(300)}),
        JSON,
        400,
        "invalid_request",
    ),
    "text/plain": (_body(_user("hi")), {"content-type": "text/plain"}, 415, UNSUPPORTED),
    "no content type": (_body(_user("hi")), {}, 415, UNSUPPORTED),
    "form encoded": (
        b"messages=hi",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
        UNSUPPORTED,
    ),
    "too many messages": (
        _body(question("last", *["x"] * 200)),
        JSON,
        413,
        "too_large",
    ),
    "a message too long": (_body(_user("x" * 40_000)), JSON, 413, "too_large"),
    "a body too large": (_body(_user("x" * 300_000)), JSON, 413, "too_large"),
}


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
@pytest.mark.parametrize("case", BAD_REQUESTS.keys())
def test_bad_requests_get_a_4xx_with_an_error_body(app_server, route, case):
    body, headers, status, code = BAD_REQUESTS[case]

    response = httpx.post(app_server.url + route, content=body, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "ref"}
    assert error["message"]
    assert re.fullmatch(r"[0-9a-f]{12}", error["ref"])
    assert error["code"] == code


def test_a_session_state_that_cannot_be_sent_back_is_refused_before_the_model_is_called(
    app_server, model_server
):
    before = model_server.stats()["requests"]
    body = _body({**question("hi"), "sessionState": _nested(300)})

    response = httpx.post(app_server.url + "/api/chat", content=body, headers=JSON)

    assert response.status_code == 400
    assert "sessionState" in response.json()["error"]["message"]
    assert model_server.stats()["requests"] == before


@pytest.fixture(scope="module", params=["true", "false"])
def either_mode(request, start_app):
    """The app with CHAT_STREAMING on, then off: the body limits hold in both."""
    with start_app({"CHAT_STREAMING": request.param}) as server:
        yield server


def _megabyte_in_chunks():
    for _ in range(100):
        yield b"x" * 10_000  # 1 MB in all, no Content-Length


def test_an_oversized_chunked_body_is_refused_while_it_is_read(either_mode):
    response = httpx.post(
        either_mode.url + "/api/chat/stream", content=_megabyte_in_chunks(), headers=JSON
    )

    assert response.status_code == 413


def test_a_body_refused_while_it_is_read_is_logged_once_with_its_reference(app_server):
    before = len(app_server.log())

    response = httpx.post(
        app_server.url + "/api/chat/stream", content=_megabyte_in_chunks(), headers=JSON
    )

    ref = response.json()["error"]["ref"]
    logged = app_server.log_once_it_has(f"ref {ref}")[before:]
    assert logged.count("request answered with 413") == 1


def test_a_huge_declared_length_is_refused_before_the_body(either_mode):
    url = urlsplit(either_mode.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/chat/stream")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", "999999999")
        connection.endheaders(b"{")  # one byte of the promised body, then wait for the answer
        response = connection.getresponse()
        body = response.read()  # the whole body, however many segments it comes in
    finally:
        connection.close()

    assert response.status == 413
    assert orjson.loads(body)["error"]["code"] == "too_large"


def test_wrong_method_is_refused(app_server):
    response = httpx.get(app_server.url + "/api/chat/stream")

    assert response.status_code in (404, 405)  # as the Functions host: no GET function there


def test_errors_carry_no_internal_detail(app_server):
    response = httpx.post(
        app_server.url + "/api/chat", content=b'{"messages": [{"role": 1}]}', headers=JSON
    )

    text = response.text
    assert "Traceback" not in text
    assert "127.0.0.1" not in text
    assert "pydantic" not in text


def test_the_app_keeps_serving_after_bad_input(app_server):
    for body, headers, _, _ in BAD_REQUESTS.values():
        httpx.post(app_server.url + "/api/chat/stream", content=body, headers=headers)

    response = httpx.post(app_server.url + "/api/chat", json=question("still there?"))

    assert response.status_code == 200
