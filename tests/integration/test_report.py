"""`make report` counts what the API saw, over real HTTP: an offline app answering from the
bundled docs' local index answers one question and declines an off-topic one, both are rated,
and the report command (asking the app, or reading the Azurite table the app wrote to) prints
the day's answers, declines, thumbs up and down and their pages; question texts only when the
owner keeps them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping

import httpx
import pytest

from chat_api.limits.table import create_table_store
from standins import azurite
from standins.processes import ROOT
from tests.support.ndjson import parse_lines, question

ANSWERABLE = "How do I deploy this to Azure?"
OFF_TOPIC = "Explain photosynthesis"
GUIDE = "https://docs.example.com/guide"
FAQ = "https://docs.example.com/faq"
OFFLINE = {"OPENAI_HOST": "offline", "CHAT_RETRIEVAL": "local"}
STORE_VARIABLES = ("AZURE_STORAGE_TABLE_ENDPOINT", "AZURE_STORAGE_TABLE_CONNECTION_STRING")


def _ask(app, text: str, page: str) -> dict:
    body = question(text)
    body["context"]["page"] = {"url": page, "title": "A page"}
    response = httpx.post(app.url + "/api/chat/stream", json=body, timeout=30)
    assert response.status_code == 200
    return parse_lines(response.content)[-1]["context"]


def _rate(app, answer_id: str, rating: str, **more: object) -> None:
    body = {"answer_id": answer_id, "rating": rating, **more}
    response = httpx.post(app.url + "/api/feedback", json=body, timeout=30)
    assert response.status_code == 204


def _visit(app) -> tuple[dict, dict]:
    """An answer on the guide (query and fragment in its address) rated down without a page,
    and a decline on the FAQ rated up with its page."""
    answered = _ask(app, ANSWERABLE, f"{GUIDE}/?from=nav#top")
    declined = _ask(app, OFF_TOPIC, f"{FAQ}/")
    _rate(app, answered["answer_id"], "down")
    _rate(app, declined["answer_id"], "up", page={"url": f"{FAQ}/#photo", "title": "FAQ"})
    return answered, declined


def _report(*args: str, env: Mapping[str, str] | None = None) -> str:
    """`python -m chat_api.visits ARGS`, as `make report` runs it; its printed report."""
    clean = {k: v for k, v in os.environ.items() if k not in STORE_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-m", "chat_api.visits", "--days", "1", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _page_rows(text: str) -> dict[str, list[int]]:
    rows = {}
    for line in text.splitlines()[2:]:
        cells = line.split()
        if len(cells) == 5 and cells[0].startswith("https://"):
            rows[cells[0]] = [int(cell) for cell in cells[1:]]
    return rows


@pytest.fixture(scope="module", params=["false", "true"], ids=["questions not kept", "kept"])
def visited(request, start_app) -> Iterator[tuple[object, str, dict, dict]]:
    with start_app({**OFFLINE, "CHAT_KEEP_QUESTIONS": request.param}) as app:
        answered, declined = _visit(app)
        yield app, request.param, answered, declined


def test_the_off_topic_question_is_declined_and_the_other_answered(visited):
    _, _, answered, declined = visited

    assert (answered.get("no_source"), declined.get("no_source")) == (None, True)


def test_the_report_counts_the_days_answers_declines_and_ratings(visited):
    app = visited[0]

    first = _report("--url", app.url).splitlines()[0]

    assert first.split("  ")[1:] == ["answers 2", "declined 1", "thumbs up 1", "thumbs down 1"]


def test_the_report_gives_each_page_its_counts_without_query_or_fragment(visited):
    app = visited[0]

    rows = _page_rows(_report("--url", app.url))

    assert rows == {GUIDE: [1, 0, 0, 1], FAQ: [1, 1, 1, 0]}


def test_question_texts_are_in_the_report_only_when_kept(visited):
    app, kept, _, _ = visited

    text = _report("--url", app.url)

    shown = [ANSWERABLE in text, OFF_TOPIC in text]
    assert shown == ([True, True] if kept == "true" else [False, False])


def test_the_report_route_refuses_a_day_count_out_of_range(visited):
    response = httpx.get(visited[0].url + "/api/report?days=0", timeout=30)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_the_report_command_says_when_the_app_cannot_be_reached():
    done = subprocess.run(
        [sys.executable, "-m", "chat_api.visits", "--url", "http://127.0.0.1:9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert "is `make run` running?" in done.stderr


@pytest.mark.skipif(not azurite.available(), reason="Azurite is not installed (make azurite)")
def test_the_report_reads_the_table_the_deployed_app_writes(start_app):
    with azurite.azurite_tables() as tables:
        store = {
            "CHAT_LIMITS_STORE": "table",
            "AZURE_STORAGE_TABLE_CONNECTION_STRING": tables.connection_string,
            "CHAT_LIMITS_TABLE": "visits",
        }
        with start_app({**OFFLINE, **store, "CHAT_KEEP_QUESTIONS": "true"}) as app:
            _visit(app)
        text = _report(env={k: v for k, v in store.items() if k != "CHAT_LIMITS_STORE"})

    assert text.splitlines()[0].split("  ")[1:] == [
        "answers 2",
        "declined 1",
        "thumbs up 1",
        "thumbs down 1",
    ]
    assert _page_rows(text) == {GUIDE: [1, 0, 0, 1], FAQ: [1, 1, 1, 0]}
    assert OFF_TOPIC in text
    assert ANSWERABLE in text


@pytest.mark.skipif(not azurite.available(), reason="Azurite is not installed (make azurite)")
def test_a_dropped_partition_of_the_table_loses_its_rows_and_no_other():
    async def drop_one() -> tuple[dict, dict]:
        store = create_table_store(
            endpoint="", connection_string=tables.connection_string, table="dropping"
        )
        try:
            for row in ("a", "b"):
                await store.put("questions-20261101", row, {"question": row})
            await store.put("questions-20261102", "c", {"question": "c"})
            await store.drop("questions-20261101")
            return await store.rows("questions-20261101"), await store.rows("questions-20261102")
        finally:
            await store.aclose()

    with azurite.azurite_tables() as tables:
        dropped, kept = asyncio.run(drop_one())

    assert (dropped, kept) == ({}, {"c": {"question": "c"}})
