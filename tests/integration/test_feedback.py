"""Over real HTTP: every complete answer carries a unique answer_id on both routes; a rating of it
(`POST /api/feedback`) is answered 204 in both streaming modes, refused with a JSON 4xx when
malformed, counted by the client's request limit and kept where the limits' counts are; the page
a question is asked on reaches the model's prompt and puts its passages first; and CORS is granted
only to the listed origins."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chat_api.feedback import FeedbackBook, Rating, utc_day
from chat_api.limits.table import create_table_store
from chat_api.retrieval import Passage
from chat_api.retrieval.local import LocalRetriever
from standins import azurite, processes
from tests.support.ndjson import citations, parse_lines, question

FEEDBACK = "/api/feedback"
PAGE = {"url": "https://docs.example.com/guide/", "title": "The guide"}
LISTED = "https://docs.example.com"


def _rating(answer_id: str, rating: str = "up", **fields: object) -> dict[str, object]:
    return {"answer_id": answer_id, "rating": rating, **fields}


def _asked_on_page(text: str, page: dict[str, str] = PAGE) -> dict[str, object]:
    body = question(text)
    body["context"]["page"] = page
    return body


def _answer_id(app, route: str) -> str:
    response = httpx.post(app.url + route, json=question("hi"), timeout=20)
    assert response.status_code == 200
    if route.endswith("/stream"):
        return str(parse_lines(response.content)[-1]["context"]["answer_id"])
    return str(response.json()["context"]["answer_id"])


def test_every_complete_answer_carries_its_own_answer_id_on_both_routes(app_server):
    ids = [_answer_id(app_server, route) for route in ("/api/chat/stream", "/api/chat") * 2]

    assert all(re.fullmatch("[0-9a-f]{24}", answer_id) for answer_id in ids)
    assert len(set(ids)) == 4


@pytest.fixture(scope="module", params=["true", "false"])
def either_mode(request, start_app):
    """The app with CHAT_STREAMING on, then off: the feedback route is in both."""
    with start_app({"CHAT_STREAMING": request.param}) as server:
        yield server


def test_a_rating_of_an_answer_is_answered_204(either_mode):
    answer_id = _answer_id(either_mode, "/api/chat")

    response = httpx.post(
        either_mode.url + FEEDBACK, json=_rating(answer_id, "down", comment="Too long.", page=PAGE)
    )

    assert (response.status_code, response.content) == (204, b"")


JSON = {"content-type": "application/json"}
MALFORMED = {
    "malformed JSON": (b'{"answer_id": "abc", "rating": ', JSON, 400, "invalid_json"),
    "a rating other than up or down": (
        b'{"answer_id": "abc", "rating": "5"}',
        JSON,
        400,
        "invalid_request",
    ),
    "no answer id": (b'{"rating": "up"}', JSON, 400, "invalid_request"),
    "not JSON": (
        b'{"answer_id": "abc", "rating": "up"}',
        {"content-type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
}


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"), MALFORMED.values(), ids=MALFORMED.keys()
)
def test_a_malformed_rating_is_a_json_4xx(either_mode, content, headers, status, code):
    response = httpx.post(either_mode.url + FEEDBACK, content=content, headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_ratings_count_against_the_clients_requests_per_minute(start_app):
    transport = httpx.HTTPTransport(local_address="127.0.0.41")
    with (
        start_app({"CHAT_CLIENT_REQUESTS_PER_MINUTE": "2"}) as app,
        httpx.Client(transport=transport, timeout=20) as http,
    ):
        answer = http.post(app.url + "/api/chat", json=question("hi"))
        rating = http.post(app.url + FEEDBACK, json=_rating(answer.json()["context"]["answer_id"]))
        refused = http.post(app.url + FEEDBACK, json=_rating("a1b2c3"))

    assert (answer.status_code, rating.status_code) == (200, 204)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


@pytest.fixture(scope="module")
def tables() -> Iterator[azurite.Azurite]:
    if not azurite.available():
        pytest.skip("Azurite is not installed (make test installs it)")
    with azurite.azurite_tables() as server:
        yield server


def test_a_rating_is_kept_in_the_limits_table_and_read_back_by_day(start_app, tables):
    env = {
        "CHAT_LIMITS_STORE": "table",
        "AZURE_STORAGE_TABLE_CONNECTION_STRING": tables.connection_string,
        "CHAT_LIMITS_TABLE": "ratings",
    }
    with start_app(env) as app:
        answer_id = _answer_id(app, "/api/chat/stream")
        response = httpx.post(app.url + FEEDBACK, json=_rating(answer_id, "down", page=PAGE))

    async def read_today() -> list[Rating]:
        store = create_table_store(
            endpoint="", connection_string=tables.connection_string, table="ratings"
        )
        try:
            return await FeedbackBook(store).ratings(utc_day(time.time()))
        finally:
            await store.aclose()

    assert response.status_code == 204
    assert asyncio.run(read_today()) == [Rating(answer_id, "down", "", PAGE["url"], PAGE["title"])]


def test_the_page_a_question_is_asked_on_reaches_the_models_prompt(app_server, model_server):
    response = httpx.post(
        app_server.url + "/api/chat", json=_asked_on_page("What is this?"), timeout=20
    )

    assert response.status_code == 200
    system = model_server.stats()["last_request"]["messages"][0]["content"]
    assert PAGE["url"] in system
    assert PAGE["title"] in system


def test_a_page_that_is_not_a_web_address_is_refused(app_server):
    body = _asked_on_page("What is this?", {"url": "javascript:alert(1)", "title": "x"})

    response = httpx.post(app_server.url + "/api/chat/stream", json=body, timeout=20)

    assert response.status_code == 400
    assert "context.page.url" in response.json()["error"]["message"]


@pytest.fixture(scope="module")
def site_index(tmp_path_factory) -> Path:
    """A local index of a site's pages, as `make ingest` writes one: two pages on deploying."""
    path = tmp_path_factory.mktemp("site") / "index.sqlite"
    index = LocalRetriever(path=path)
    index.add(
        [
            Passage(
                "deploy",
                "Deploying: Azure",
                "site/deploy#azure",
                "Deploy to Azure with azd up; deploy again after each change to deploy it.",
                url="https://docs.example.com/deploy/#azure",
            ),
            Passage(
                "guide",
                "The guide: Overview",
                "site/guide#overview",
                "The guide covers plans, prices, accounts, support, limits and deploying.",
                url="https://docs.example.com/guide/#overview",
            ),
        ]
    )
    index.commit()
    asyncio.run(index.aclose())
    return path


def test_the_pages_own_passage_is_cited_first_when_it_matches(site_index):
    with processes.app_server({"CHAT_LOCAL_INDEX": str(site_index)}) as app:  # offline
        elsewhere = httpx.post(app.url + "/api/chat/stream", json=question("How to deploy?"))
        here = httpx.post(app.url + "/api/chat/stream", json=_asked_on_page("How to deploy?"))

    deploy = "https://docs.example.com/deploy/#azure"
    guide = "https://docs.example.com/guide/#overview"
    assert [c["url"] for c in citations(parse_lines(elsewhere.content))] == [deploy, guide]
    assert [c["url"] for c in citations(parse_lines(here.content))] == [guide, deploy]


@pytest.fixture(scope="module")
def listing_app(start_app):
    with start_app({"ALLOWED_ORIGINS": f"{LISTED}, https://other.example.net"}) as server:
        yield server


def _preflight(app, origin: str) -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    return httpx.options(app.url + FEEDBACK, headers=headers)


def test_a_listed_origin_is_granted_the_feedback_preflight(listing_app):
    response = _preflight(listing_app, LISTED)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == LISTED
    assert "POST" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize("origin", ["https://evil.example.org", "https://docs.example.com:8443"])
def test_an_unlisted_origin_gets_no_grant(listing_app, origin):
    preflight = _preflight(listing_app, origin)
    rating = httpx.post(
        listing_app.url + FEEDBACK, json=_rating("a1b2c3"), headers={"Origin": origin}
    )

    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in rating.headers


def test_with_no_origin_listed_no_origin_is_granted(app_server):
    response = _preflight(app_server, LISTED)

    assert "access-control-allow-origin" not in response.headers
