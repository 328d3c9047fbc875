"""function_app.py loaded by the Azure Functions Python runtime's own loader and registry (the
`azure-functions-runtime` package, Python 3.13+), in both streaming modes: the check Azure makes
when a worker starts, without the Functions host."""

from __future__ import annotations

import json
import subprocess

import pytest

from standins.processes import ROOT

RUNTIME_PYTHON = ROOT / ".venv-functions" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    not RUNTIME_PYTHON.exists(),
    reason="no Python 3.13+ here for azure-functions-runtime (make test sets it up when there is)",
)


def _load(streaming: str) -> dict:
    result = subprocess.run(
        [str(RUNTIME_PYTHON), str(ROOT / "tests" / "support" / "functions_runtime_probe.py")],
        env={"CHAT_STREAMING": streaming, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_runtime_loads_every_streaming_function_with_the_fastapi_types():
    loaded = _load("true")

    assert loaded["http_streaming"] is True
    assert set(loaded["functions"]) == {"chat_stream", "chat", "feedback", "health", "openapi"}
    for function in loaded["functions"].values():
        assert function == {
            "http": True,
            "request": "starlette.requests.Request",
            "response": "starlette.responses.Response",
        }


def test_the_runtime_loads_the_classic_functions_without_http_streaming():
    loaded = _load("false")

    assert loaded["http_streaming"] is False
    assert set(loaded["functions"]) == {"chat_stream", "chat", "feedback", "health", "openapi"}
    for function in loaded["functions"].values():
        assert function == {
            "http": True,
            "request": "azure.functions.HttpRequest",
            "response": "azure.functions.HttpResponse",
        }
