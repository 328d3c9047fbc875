"""Ratings of answers (`POST /api/feedback` in the service): kept per UTC day with the page they
came from, replaced by a second rating of the same answer, refused with a JSON 4xx when malformed,
counted against the client's limits (their metric: tests/unit/telemetry/test_metrics.py)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from chat_api.feedback import FeedbackBook, Rating, utc_day
from chat_api.hosts.offline import OfflineHost
from chat_api.limits import Limiter, MemoryStore, Quotas
from chat_api.limits.store import StoreUnavailable
from chat_api.protocol import FeedbackRequest
from chat_api.service import ChatService
from chat_api.settings import Settings

JSON = "application/json"
ANSWER = "4d34e2b165a72ed37d9682d5"
PAGE = {"url": "https://docs.example.com/guide/", "title": "Guide"}


def _service(store: MemoryStore | None = None, **quotas: int) -> ChatService:
    store = store or MemoryStore()
    limiter = Limiter(Quotas(**quotas), store)
    return ChatService(Settings(), OfflineHost(), None, limiter, feedback_book=FeedbackBook(store))


def _body(**fields: Any) -> bytes:
    return orjson.dumps({"answer_id": ANSWER, "rating": "up", **fields})


async def _today(store: MemoryStore) -> list[Rating]:
    return await FeedbackBook(store).ratings(utc_day(time.time()))


async def test_a_rating_is_answered_204_and_kept_under_today_with_its_page():
    store = MemoryStore()

    reply = await _service(store).feedback(JSON, _body(comment=" Clear. ", page=PAGE))

    assert (reply.status, reply.body) == (204, b"")
    assert await _today(store) == [
        Rating(ANSWER, "up", "Clear.", "https://docs.example.com/guide/", "Guide")
    ]


async def test_a_second_rating_of_an_answer_replaces_the_first():
    store = MemoryStore()
    service = _service(store)

    await service.feedback(JSON, _body(rating="up"))
    await service.feedback(JSON, _body(rating="down"))

    assert [rating.rating for rating in await _today(store)] == ["down"]


async def test_a_body_still_being_read_is_read_before_it_is_judged():
    async def body() -> bytes:
        return _body(rating="down")

    reply = await _service().feedback(JSON, body())

    assert reply.status == 204


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"answer_id": ', JSON, 400, "invalid_json"),
        (_body(), "text/plain", 415, "unsupported_media_type"),
        (orjson.dumps({"rating": "up"}), JSON, 400, "invalid_request"),
        (_body(rating="meh"), JSON, 400, "invalid_request"),
        (_body(answer_id="../../etc"), JSON, 400, "invalid_request"),
        (_body(answer_id="x" * 65), JSON, 400, "invalid_request"),
        (_body(comment="x" * 1001), JSON, 400, "invalid_request"),
        (_body(page={"url": "javascript:alert(1)"}), JSON, 400, "invalid_request"),
        (_body(stars=5), JSON, 400, "invalid_request"),
        (b"x" * (256 * 1024 + 1), JSON, 413, "too_large"),
    ],
    ids=[
        "malformed JSON",
        "not JSON",
        "no answer id",
        "a rating other than up or down",
        "an answer id that is not an id",
        "an answer id too long",
        "a comment too long",
        "a page that is not a web address",
        "an unknown field",
        "a body too large",
    ],
)
async def test_bad_input_is_a_json_4xx_and_nothing_is_kept(body, content_type, status, code):
    store = MemoryStore()

    reply = await _service(store).feedback(content_type, body)

    assert reply.status == status
    assert orjson.loads(reply.body)["error"]["code"] == code
    assert await _today(store) == []


async def test_ratings_count_against_the_clients_requests_per_minute():
    service = _service(requests_per_minute=2)

    replies = [await service.feedback(JSON, _body(), client="192.0.2.7") for _ in range(3)]
    other = await service.feedback(JSON, _body(), client="198.51.100.9")

    assert [reply.status for reply in replies] == [204, 204, 429]
    assert orjson.loads(replies[2].body)["error"]["code"] == "rate_limited"
    assert other.status == 204


async def test_a_store_that_fails_loses_the_rating_not_the_request(caplog):
    class FailingStore(MemoryStore):
        async def put(self, partition: str, row: str, fields: dict[str, str]) -> None:
            raise StoreUnavailable("TimeoutError")

    reply = await _service(FailingStore()).feedback(JSON, _body())

    assert reply.status == 204
    assert "a rating was not kept" in caplog.text


async def test_the_limits_clean_up_of_old_days_keeps_the_ratings_of_those_days():
    store = MemoryStore()
    three_days_ago = time.time() - 3 * 86_400
    book = FeedbackBook(store, clock=lambda: three_days_ago)
    await _service(store).feedback(JSON, _body())  # today's
    await book.record(FeedbackRequest.model_validate(orjson.loads(_body(answer_id="a" * 24))))

    await store.delete_before(utc_day(time.time()))

    assert [r.answer_id for r in await book.ratings(utc_day(three_days_ago))] == ["a" * 24]
    assert [r.answer_id for r in await _today(store)] == [ANSWER]
