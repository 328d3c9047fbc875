"""The app inside the real Azure Functions Python runtime (`azure-functions-runtime`, Python
3.13+), driven by the stand-in Functions host (`standins/functions_host.py`) as the host
drives it in Azure: worker initialisation, indexing, loading, one invocation per request, and
each HTTP request sent to the runtime's own HTTP server with its invocation id."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest

from standins import processes
from standins.processes import FUNCTIONS_PYTHON, ROOT
from standins.waiting import wait_until
from tests.conftest import model_env
from tests.support.ndjson import answer_text, parse_lines, question

pytestmark = pytest.mark.skipif(
    not FUNCTIONS_PYTHON.exists(),
    reason="no Python 3.13+ here for azure-functions-runtime (make test sets it up when there is)",
)

BAD_REQUESTS = [
    ("not json", {"content-type": "application/json"}),
    ('{"messages": []}', {"content-type": "application/json"}),
    ('{"messages": [{"role": "user", "content": "hi"}]}', {"content-type": "text/plain"}),
    (
        '{"messages": [{"role": "assistant", "content": "hi"}]}',
        {"content-type": "application/json"},
    ),
]


@pytest.fixture(scope="module")
def runtime_app(model_server):
    with processes.functions_host(model_env(model_server)) as server:
        yield server


@pytest.fixture(scope="module")
def buffered_runtime_app(model_server):
    with processes.functions_host({**model_env(model_server), "CHAT_STREAMING": "false"}) as app:
        yield app


def test_the_runtime_serves_every_function_through_its_own_http_server(runtime_app):
    assert "5 HTTP functions, HttpUri=http://127.0.0.1:" in runtime_app.log()


def test_first_words_arrive_while_the_model_is_still_generating(runtime_app, model_server):
    model_server.reset()
    # The stand-in sends its first word, then the next only once released: a runtime that held
    # the answer back until the model finished would send no words here, and the read would
    # time out.
    with httpx.stream(
        "POST",
        runtime_app.url + "/api/chat/stream",
        json=question("through the runtime #lockstep"),
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = response.iter_lines()  # one iterator: dropping it would close the connection
        for line in lines:
            if '"content"' in line:
                break
        assert model_server.stats()["active"] == 1


def test_each_model_chunk_reaches_the_client_as_its_own_line(runtime_app, model_server):
    model_server.reset()
    # Each word after the first leaves the stand-in only once the one before has been read
    # here: a worker that buffered the answer would send no word, and the read would time out.
    reads: list[bytes] = []
    with httpx.stream(
        "POST", runtime_app.url + "/api/chat/stream", json=question("pace #lockstep"), timeout=30
    ) as response:
        for read in response.iter_raw():
            reads.append(read)
            if b'"content"' in read and b'"finish_reason"' not in read:
                model_server.release()

    words = [read for read in reads if b'"content"' in read]
    assert len(words) >= 15  # the stand-in's 20 words, each read on its own
    assert all(read.endswith(b"\n") for read in reads)
    assert parse_lines(b"".join(reads))[-1]["context"]["finish_reason"] == "stop"


def test_the_buffered_route_answers_one_whole_completion(runtime_app):
    body = question("Is the buffered answer the same?")

    streamed = parse_lines(
        httpx.post(runtime_app.url + "/api/chat/stream", json=body, timeout=30).content
    )
    completion = httpx.post(runtime_app.url + "/api/chat", json=body, timeout=30)

    assert completion.status_code == 200
    assert int(completion.headers["content-length"]) == len(completion.content)
    assert completion.json()["message"]["content"] == answer_text(streamed)


def test_streaming_off_sends_the_same_lines_in_one_body(buffered_runtime_app, runtime_app):
    body = question("Same lines when buffered?")

    buffered = httpx.post(buffered_runtime_app.url + "/api/chat/stream", json=body, timeout=30)
    streamed = httpx.post(runtime_app.url + "/api/chat/stream", json=body, timeout=30)

    assert "HttpUri=none (classic functions)" in buffered_runtime_app.log()
    assert buffered.status_code == 200
    assert buffered.headers["content-type"] == "application/x-ndjson"
    assert int(buffered.headers["content-length"]) == len(buffered.content)
    assert answer_text(parse_lines(buffered.content)) == answer_text(parse_lines(streamed.content))
    assert parse_lines(buffered.content)[-1]["context"]["finish_reason"] == "stop"


@pytest.mark.parametrize(("body", "headers"), BAD_REQUESTS)
@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_bad_input_gets_the_same_4xx_json_as_under_make_run(
    runtime_app, app_server, route, body, headers
):
    through_runtime = httpx.post(runtime_app.url + route, content=body, headers=headers, timeout=30)
    under_devhost = httpx.post(app_server.url + route, content=body, headers=headers, timeout=30)

    assert 400 <= through_runtime.status_code < 500
    assert through_runtime.status_code == under_devhost.status_code
    assert through_runtime.headers["content-type"] == "application/json"
    assert _without_ref(through_runtime.json()) == _without_ref(under_devhost.json())


def test_bad_input_in_classic_mode_gets_the_same_4xx_json(buffered_runtime_app, app_server):
    body, headers = BAD_REQUESTS[0]
    through_runtime = httpx.post(
        buffered_runtime_app.url + "/api/chat", content=body, headers=headers, timeout=30
    )
    under_devhost = httpx.post(
        app_server.url + "/api/chat", content=body, headers=headers, timeout=30
    )

    assert through_runtime.status_code == under_devhost.status_code == 400
    assert _without_ref(through_runtime.json()) == _without_ref(under_devhost.json())


def _without_ref(body: dict[str, Any]) -> dict[str, Any]:
    """The error body less its reference, which names one request and so differs each time."""
    error = dict(body["error"])
    assert len(error.pop("ref")) > 0
    return {**body, "error": error}


def test_a_client_that_leaves_mid_answer_aborts_the_model_stream(runtime_app, model_server):
    model_server.reset()
    # After its first word the stand-in waits for a release that never comes: only the client
    # leaving can end the model's stream.
    with httpx.stream(
        "POST",
        runtime_app.url + "/api/chat/stream",
        json=question("leave early #lockstep"),
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if '"content"' in line:
                break

    assert wait_until(lambda: model_server.stats()["aborted"] == 1)
    assert wait_until(lambda: model_server.stats()["active"] == 0)


def test_health_reports_streaming_on(runtime_app):
    response = httpx.get(runtime_app.url + "/api/health", timeout=30)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["streaming"] is True


@pytest.mark.parametrize("mode", ["streaming", "classic"])
def test_a_rating_of_an_answer_is_answered_204_in_either_mode(
    mode, runtime_app, buffered_runtime_app
):
    app = runtime_app if mode == "streaming" else buffered_runtime_app
    completion = httpx.post(app.url + "/api/chat", json=question("Rate me"), timeout=30)
    rating = {"answer_id": completion.json()["context"]["answer_id"], "rating": "up"}

    response = httpx.post(app.url + "/api/feedback", json=rating, timeout=30)
    refused = httpx.post(app.url + "/api/feedback", json={"rating": "up"}, timeout=30)

    assert (response.status_code, response.content) == (204, b"")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_request"


def test_the_openapi_document_lists_every_route(runtime_app):
    document = httpx.get(runtime_app.url + "/api/openapi.json", timeout=30).json()

    assert document["openapi"].startswith("3.1")
    assert {"/api/chat", "/api/chat/stream", "/api/health"} <= set(document["paths"])


def test_a_function_signature_the_runtime_rejects_stops_the_host(tmp_path):
    source = (ROOT / "function_app.py").read_text("utf-8")
    # The classic request type in an app that streams: `make run` would serve it, Azure not.
    drifted = source.replace(
        "async def chat(req: Request)", "async def chat(req: func.HttpRequest)", 1
    )
    assert drifted != source
    (tmp_path / "function_app.py").write_text(drifted, "utf-8")
    (tmp_path / "host.json").write_text((ROOT / "host.json").read_text("utf-8"), "utf-8")

    result = subprocess.run(
        [
            str(FUNCTIONS_PYTHON),
            "-m",
            "standins.functions_host",
            "--port",
            "0",
            "--app-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert result.returncode != 0
    assert "worker initialisation failed" in result.stderr
    assert "FunctionLoadError: cannot load the chat function" in result.stderr
