"""The functions function_app.py declares, in both streaming modes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

EXPECTED = {
    "chat_stream": ("chat/stream", ["POST"]),
    "chat": ("chat", ["POST"]),
    "feedback": ("feedback", ["POST"]),
    "health": ("health", ["GET"]),
    "openapi": ("openapi.json", ["GET"]),
}

_DESCRIBE = """
import inspect, json, function_app
out = {}
for f in function_app.app.get_functions():
    t = f.get_trigger()
    arg = inspect.signature(f.get_user_function()).parameters[t.name].annotation
    out[f.get_function_name()] = {
        "route": t.route,
        "methods": [str(getattr(m, "value", m)) for m in t.methods],
        "auth": str(getattr(t.auth_level, "value", t.auth_level)),
        "request_type": arg.__module__ + "." + arg.__name__,
        "async": inspect.iscoroutinefunction(f.get_user_function()),
    }
print(json.dumps(out))
"""


def _declared(streaming: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _DESCRIBE],
        cwd=ROOT,
        env={"CHAT_STREAMING": streaming, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module", params=["true", "false"])
def declared(request) -> tuple[str, dict]:
    return request.param, _declared(request.param)


def test_declares_the_same_routes_and_methods_in_both_modes(declared):
    _, functions = declared

    assert {name: (f["route"], f["methods"]) for name, f in functions.items()} == EXPECTED


def test_every_function_is_anonymous_and_async(declared):
    _, functions = declared

    assert {f["auth"] for f in functions.values()} == {"anonymous"}
    assert all(f["async"] for f in functions.values())


def test_streaming_mode_takes_the_fastapi_request_and_classic_mode_the_functions_one(declared):
    streaming, functions = declared

    expected = {"true": "starlette.requests.Request", "false": "azure.functions._http.HttpRequest"}[
        streaming
    ]
    assert {f["request_type"] for f in functions.values()} == {expected}


def test_loading_the_app_imports_no_search_or_ingestion_code():
    code = "import sys, function_app; print(' '.join(sorted(sys.modules)))"
    env = {
        "PATH": "/usr/bin:/bin",
        "AZURE_SEARCH_ENDPOINT": "https://search.example.net",
        "AZURE_SEARCH_API_KEY": "key",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    loaded = set(result.stdout.split())
    assert not {m for m in loaded if m.startswith("azure.search")}
    assert not {m for m in loaded if m.startswith(("chat_api.ingest", "pypdf", "tqdm"))}
