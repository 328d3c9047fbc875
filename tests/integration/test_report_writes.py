"""Over real HTTP, against a table that holds the visitors' report's rows open without ever
answering (and keeps every other row, in Azurite): a streamed answer, a buffered answer and a
rating each end while the report's write is still held, since the report is written in the
background."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from chat_api.feedback import utc_day
from chat_api.visits import ANSWERS, QUESTIONS
from standins import azurite
from standins.waiting import wait_until
from tests.support.holding_table import HeldRequests, holding_table
from tests.support.ndjson import parse_lines, question

pytestmark = pytest.mark.skipif(
    not azurite.available(), reason="Azurite is not installed (make azurite)"
)

ANSWERABLE = "How do I deploy this to Azure?"
OFFLINE = {"OPENAI_HOST": "offline", "CHAT_RETRIEVAL": "local", "CHAT_KEEP_QUESTIONS": "true"}


@pytest.fixture(scope="module")
def tables() -> Iterator[azurite.Azurite]:
    with azurite.azurite_tables() as tables:
        yield tables


@pytest.fixture
def app_holding(start_app, tables) -> Callable[[str], contextlib.AbstractContextManager]:
    """An app whose table holds the requests naming today's given partition (`ANSWERS`, ...)."""

    @contextlib.contextmanager
    def start(partition: str) -> Iterator[tuple[object, HeldRequests]]:
        held_partition = partition.format(day=utc_day(time.time()))
        real = f"http://127.0.0.1:{tables.port}"
        with holding_table(real, held_partition) as (address, held):
            store = {
                "CHAT_LIMITS_STORE": "table",
                "AZURE_STORAGE_TABLE_CONNECTION_STRING": azurite.connection_string(
                    urlsplit(address).port or 0
                ),
                "CHAT_LIMITS_TABLE": "held",
            }
            with start_app({**OFFLINE, **store}) as app:
                yield app, held

    return start


def _answer_id(app, route: str) -> str:
    response = httpx.post(app.url + route, json=question(ANSWERABLE), timeout=30)
    assert response.status_code == 200
    if route.endswith("/stream"):
        return str(parse_lines(response.content)[-1]["context"]["answer_id"])
    return str(response.json()["context"]["answer_id"])


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_an_answer_ends_while_its_report_write_is_still_held(app_holding, route):
    with app_holding(ANSWERS) as (app, held):
        answer_id = _answer_id(app, route)
        released_when_answered = held.released
        write_arrived = wait_until(lambda: held.received == 1)

    assert len(answer_id) == 24
    assert (released_when_answered, write_arrived) == (0, True)


def test_a_rating_is_answered_while_its_kept_question_is_still_held(app_holding):
    with app_holding(QUESTIONS) as (app, held):
        answer_id = _answer_id(app, "/api/chat/stream")
        rating = {"answer_id": answer_id, "rating": "down"}
        response = httpx.post(app.url + "/api/feedback", json=rating, timeout=30)
        released_when_rated = held.released
        write_arrived = wait_until(lambda: held.received == 1)

    assert response.status_code == 204
    assert (released_when_rated, write_arrived) == (0, True)
