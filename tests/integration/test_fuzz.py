"""Property-based fuzzing of the whole API from its own OpenAPI document: whatever the input,
no 5xx, and every error carries the JSON error body."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

CASES = [
    ("/api/chat/stream", "POST", "valid"),
    ("/api/chat/stream", "POST", "invalid"),
    ("/api/chat", "POST", "valid"),
    ("/api/chat", "POST", "invalid"),
    ("/api/health", "GET", "valid"),
]


@pytest.fixture(scope="module")
def api_schema(offline_app_server):
    # Offline mode answers in milliseconds, so many cases fit in a few seconds; the validation
    # and pipeline code under test is the same in every mode.
    return schemathesis.openapi.from_url(offline_app_server.url + "/api/openapi.json")


def errors_have_the_json_error_body(ctx, response, case) -> None:
    if response.status_code < 400:
        return
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(error, dict) and error.get("code") and error.get("message")):
        raise AssertionError(f"error without the JSON error body: {response.text[:200]}")


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_no_input_makes_the_api_fail(api_schema, path, method, mode):
    operation = api_schema[path][method]
    strategy = operation.as_strategy(
        generation_mode=schemathesis.GenerationMode.POSITIVE
        if mode == "valid"
        else schemathesis.GenerationMode.NEGATIVE
    )

    @given(case=strategy)
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case):
        response = case.call(timeout=10)
        case.validate_response(
            response,
            checks=(not_a_server_error, errors_have_the_json_error_body),
            excluded_checks=None,
        )

    call()
