"""Whatever a route raises that nothing else mapped is a JSON 500 `internal_error`: never text,
never a traceback, in both streaming modes and in the local host's own adapters."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from standins.processes import ROOT

# Every ChatService entry point raises; the routes are called through the local host's app,
# which serves function_app.py's functions as the Functions host does.
_PROBE = """
import asyncio, json, httpx
from chat_api.service import ChatService
from devhost.server import create_app

def broken(*args, **kwargs):
    raise RuntimeError("secret detail at /srv/app/internal.py")

for name in ("stream", "buffered_stream", "complete", "health", "openapi"):
    setattr(ChatService, name, broken)

async def main():
    transport = httpx.ASGITransport(app=create_app(static_dir=None), raise_app_exceptions=False)
    out = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        body = {"messages": [{"role": "user", "content": "hi"}]}
        for method, path in (("POST", "/api/chat/stream"), ("POST", "/api/chat"),
                             ("GET", "/api/health"), ("GET", "/api/openapi.json")):
            r = await client.request(method, path, json=body if method == "POST" else None)
            out[path] = [r.status_code, r.headers.get("content-type"), r.text]
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.fixture(scope="module", params=["true", "false"])
def answers(request) -> dict[str, list]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={"CHAT_STREAMING": request.param, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "unexpected failure in a route: RuntimeError" in result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "path", ["/api/chat/stream", "/api/chat", "/api/health", "/api/openapi.json"]
)
def test_an_unexpected_exception_is_a_json_internal_error(answers, path):
    status, content_type, text = answers[path]

    assert (status, content_type) == (500, "application/json")
    assert json.loads(text) == {
        "error": {"code": "internal_error", "message": "Something went wrong on the server."}
    }
