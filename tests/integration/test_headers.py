"""Every API response, success or error, in both streaming modes, says its body is only what its
content type says and must not be cached."""

from __future__ import annotations

import httpx
import pytest

from tests.support.ndjson import question

REQUESTS = {
    "stream": ("POST", "/api/chat/stream", question("hi")),
    "completion": ("POST", "/api/chat", question("hi")),
    "health": ("GET", "/api/health", None),
    "openapi": ("GET", "/api/openapi.json", None),
    "a refused request": ("POST", "/api/chat", {"messages": []}),
    "a failed answer": ("POST", "/api/chat", question("busy #429")),
}


@pytest.fixture(scope="module", params=["true", "false"])
def app(request, start_app):
    with start_app({"CHAT_STREAMING": request.param}) as server:
        yield server


@pytest.mark.parametrize("case", REQUESTS)
def test_api_responses_carry_nosniff_and_no_store(app, case):
    method, path, body = REQUESTS[case]

    response = httpx.request(method, app.url + path, json=body, timeout=20)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
