"""The same API in every mode: streaming off, Azure OpenAI, offline."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from standins import processes
from tests.conftest import FAST_FAULTS
from tests.support.ndjson import answer_text, citations, parse_lines, question, steps


def _without_timings(lines: list[dict]) -> list[dict]:
    """The lines without what differs from one answer to the next: step timings, and the
    answer's own id (each answer has one of its own)."""
    for line in lines:
        line.get("context", {}).get("step", {}).pop("elapsed_ms", None)
    lines[-1]["context"].pop("answer_id")
    return lines


def _text_joined(lines: list[dict]) -> list[dict]:
    """The lines with each run of text lines as one: how the text is cut into lines follows
    how the model's words arrived together, which varies with the machine's load."""
    joined: list[dict] = []
    after_text = False
    for line in lines:
        text = "context" not in line and "content" in line["delta"]
        if text and after_text:
            joined[-1]["delta"]["content"] += line["delta"]["content"]
        else:
            joined.append(line)
        after_text = text
    return joined


@pytest.fixture(scope="module")
def buffered_app_server(start_app):
    with start_app({"CHAT_STREAMING": "false"}) as server:
        yield server


def test_streaming_off_sends_the_same_lines_at_once(app_server, buffered_app_server):
    body = question("Same lines?")

    streamed = httpx.post(app_server.url + "/api/chat/stream", json=body, timeout=30)
    buffered = httpx.post(buffered_app_server.url + "/api/chat/stream", json=body, timeout=30)

    assert buffered.status_code == 200
    assert buffered.headers["content-type"] == "application/x-ndjson"
    assert int(buffered.headers["content-length"]) == len(buffered.content)
    assert "transfer-encoding" not in buffered.headers
    assert "transfer-encoding" in streamed.headers
    assert _text_joined(_without_timings(parse_lines(buffered.content))) == _text_joined(
        _without_timings(parse_lines(streamed.content))
    )


def test_streaming_off_answers_the_buffered_route_the_same(app_server, buffered_app_server):
    body = question("Same completion?")

    one = httpx.post(app_server.url + "/api/chat", json=body).json()
    other = httpx.post(buffered_app_server.url + "/api/chat", json=body).json()

    assert one["message"] == other["message"]


def test_streaming_off_keeps_error_statuses(buffered_app_server):
    response = httpx.post(buffered_app_server.url + "/api/chat/stream", json=question("#429"))

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


def test_streaming_off_reports_itself_in_health(buffered_app_server):
    assert httpx.get(buffered_app_server.url + "/api/health").json()["streaming"] is False


def _modules_after_loading_function_app(streaming: str) -> set[str]:
    code = "import sys, function_app; print(' '.join(sorted(sys.modules)))"
    env = {"CHAT_STREAMING": streaming, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=processes.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


def test_streaming_off_never_imports_the_http_streaming_extension():
    assert "azurefunctions.extensions.http.fastapi" not in _modules_after_loading_function_app(
        "false"
    )
    assert "azurefunctions.extensions.http.fastapi" in _modules_after_loading_function_app("true")


@pytest.fixture(scope="module")
def keyed_model_server():
    with processes.model_server("--api-key", "azure-secret-key") as server:
        yield server


@pytest.fixture(scope="module")
def azure_app_server(keyed_model_server):
    env = {
        "OPENAI_HOST": "azure",
        "AZURE_OPENAI_ENDPOINT": keyed_model_server.url,
        "AZURE_OPENAI_API_KEY": "azure-secret-key",
        "AZURE_OPENAI_CHAT_DEPLOYMENT": "chat-deployment",
        **FAST_FAULTS,
    }
    with processes.app_server(env) as server:
        yield server


def test_azure_openai_with_a_key_answers_through_the_v1_responses_api(
    azure_app_server, keyed_model_server
):
    response = httpx.post(azure_app_server.url + "/api/chat/stream", json=question("Azure?"))

    lines = parse_lines(response.content)
    assert lines[-1]["context"]["finish_reason"] == "stop"
    sent = keyed_model_server.stats()["last_request"]
    assert sent["path"] == "/openai/v1/responses"
    assert sent["store"] is False
    assert sent["model"] == "chat-deployment"
    assert sent["auth_scheme"] == "Bearer"


def test_azure_health_names_the_host_and_not_the_key(azure_app_server):
    response = httpx.get(azure_app_server.url + "/api/health")

    assert response.json()["model_host"] == "azure"
    assert response.json()["model"] == "chat-deployment"
    assert "azure-secret-key" not in response.text
    assert "127.0.0.1" not in response.text


def test_the_key_and_the_question_never_reach_the_log(azure_app_server):
    httpx.post(azure_app_server.url + "/api/chat/stream", json=question("my private question"))
    httpx.post(azure_app_server.url + "/api/chat/stream", json=question("#500 private"))

    log = azure_app_server.log_once_it_has("model call failed")  # the failure was logged ...
    assert "azure-secret-key" not in log
    assert "private" not in log
    # After the start-up lines, the last of which is the ready line (the app's own address).
    after_start = log.split("Chat app ready", 1)[1].split("\n", 1)[1]
    assert "retry" in after_start
    assert "127.0.0.1:" not in after_start  # ... without the model's address


def test_a_rejected_key_is_a_502_without_detail(start_app, keyed_model_server):
    env = {
        "OPENAI_HOST": "azure",
        "AZURE_OPENAI_ENDPOINT": keyed_model_server.url,
        "AZURE_OPENAI_API_KEY": "wrong-key",
    }
    with start_app(env) as server:
        response = httpx.post(server.url + "/api/chat", json=question("let me in"))

    assert response.status_code == 502
    assert "key" not in response.text.lower()


def test_offline_mode_answers_from_the_documentation_with_citations(offline_app_server):
    response = httpx.post(
        offline_app_server.url + "/api/chat/stream",
        json=question("How do I point the app at Azure OpenAI?"),
    )

    lines = parse_lines(response.content)
    text = answer_text(lines)
    found = citations(lines)
    assert lines[-1]["context"]["finish_reason"] == "stop"
    assert text.startswith("No language model is configured")
    assert found
    assert all(c["url"].startswith("docs/") for c in found)
    assert "[1]" in text
    assert [s["title"] for s in steps(lines)][:2] == [
        "Question received",
        "Searching the knowledge base",
    ]


def test_offline_mode_can_answer_without_retrieval(offline_app_server):
    body = question("How do I deploy?")
    body["context"]["overrides"]["retrieval"] = False

    lines = parse_lines(httpx.post(offline_app_server.url + "/api/chat/stream", json=body).content)

    assert citations(lines) == []
    assert "Searching the knowledge base" not in [s["title"] for s in steps(lines)]


def test_offline_health_says_offline(offline_app_server):
    health = httpx.get(offline_app_server.url + "/api/health").json()

    assert health == {
        "status": "ok",
        "mode": "offline",
        "streaming": True,
        "model_host": "offline",
        "model": "none",
        "retrieval": "local",
    }


def test_offline_citations_link_to_documents_the_server_serves(offline_app_server):
    lines = parse_lines(
        httpx.post(offline_app_server.url + "/api/chat/stream", json=question("azd up")).content
    )
    url = citations(lines)[0]["url"]

    response = httpx.get(f"{offline_app_server.url}/{url.split('#')[0]}")

    assert response.status_code == 200
    assert response.text.startswith("#")
