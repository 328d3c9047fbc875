"""A client that leaves stops the spending: at every stage before and during an answer, the
call in flight to the stand-in model or search service is closed (it sees the abort)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import orjson
import pytest

from standins.processes import run_ingest
from standins.waiting import wait_until
from tests.conftest import search_env
from tests.support.ndjson import question

# Long upstream timeouts: an abort seen by the stand-ins comes from the client leaving.
PATIENT = {"CHAT_MODEL_TIMEOUT_SECONDS": "60", "CHAT_SEARCH_TIMEOUT_SECONDS": "60"}
INDEX = "leaving"


def _leave_when(busy: Callable[[], bool], url: str, path: str, body: dict) -> None:
    """Send the request on a plain socket, and hang up once `busy()` says the upstream call
    of the stage under test is in flight."""
    content = orjson.dumps(body)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(content)}\r\n\r\n".encode()
            + content
        )
        assert wait_until(busy), "the upstream call never started"


@pytest.fixture(scope="module")
def grounded_app(start_app) -> Iterator:
    with start_app({"CHAT_RETRIEVAL": "local", **PATIENT}) as app:
        yield app


def test_leaving_while_the_search_query_is_written_closes_the_query_call(
    grounded_app, model_server
):
    model_server.reset()

    _leave_when(
        lambda: model_server.stats()["active"] == 1,
        grounded_app.url,
        "/api/chat/stream",
        question("Prices? #hang"),
    )

    assert wait_until(lambda: model_server.stats()["aborted"] == 1)
    assert model_server.stats()["active"] == 0


def test_leaving_before_the_first_words_closes_the_model_call(grounded_app, model_server):
    body = question("Prices? #hang")
    body["context"]["overrides"]["retrieval"] = False
    model_server.reset()

    _leave_when(
        lambda: model_server.stats()["active"] == 1, grounded_app.url, "/api/chat/stream", body
    )

    assert wait_until(lambda: model_server.stats()["aborted"] == 1)


def test_leaving_the_buffered_route_mid_answer_closes_the_model_stream(grounded_app, model_server):
    # The stand-in sends the first word, then the rest only when released, which never comes:
    # the answer can end only by the app closing the model stream.
    body = question("long #lockstep")
    body["context"]["overrides"]["retrieval"] = False
    model_server.reset()

    _leave_when(lambda: model_server.stats()["active"] == 1, grounded_app.url, "/api/chat", body)

    assert wait_until(lambda: model_server.stats()["aborted"] == 1)
    assert model_server.stats()["completed"] == 0


def test_leaving_during_the_search_closes_the_search_call(
    start_app, search_server, model_server, tmp_path
):
    (tmp_path / "prices.md").write_text("# Prices\n\nThe plan costs 10 euros.\n", "utf-8")
    env = search_env(search_server, INDEX)
    result = run_ingest(
        {"OPENAI_BASE_URL": model_server.base_url, "OPENAI_API_KEY": "k", **env},
        str(tmp_path),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    with start_app({**env, **PATIENT}) as app:
        search_server.reset()

        _leave_when(
            lambda: search_server.stats()["searches"] == 1,
            app.url,
            "/api/chat/stream",
            question("Prices? #searchhang"),
        )

        assert wait_until(lambda: search_server.stats()["aborted_searches"] == 1)
