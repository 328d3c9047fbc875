"""What visitors asked: each complete answer counted per UTC day with its page (without query or
fragment), after its end line; declined and rated-down questions kept only when the owner keeps
questions; a failing store never fails the answer; the report's counts, pages and text. The
report's writes run in the background: bounded in number, left off while the limits' breaker
says the store is sick, and finished or given up at shutdown before the store closes."""

from __future__ import annotations

import asyncio
import calendar
import time
from collections.abc import AsyncGenerator

import orjson
import pytest

from chat_api.events import End, Event, Step, TextDelta
from chat_api.feedback import FeedbackBook, utc_day
from chat_api.hosts.offline import OfflineHost
from chat_api.limits import Limiter, MemoryStore, Quotas
from chat_api.limits.ledger import Ledger
from chat_api.limits.store import StoreUnavailable
from chat_api.protocol import ChatRequest, FeedbackRequest
from chat_api.service import ChatService
from chat_api.settings import Settings
from chat_api.visits import VisitLog
from chat_api.visits.report import as_text, day_report, report
from chat_api.visits.writes import ReportWrites
from tests.support.ndjson import question

NOW = float(calendar.timegm((2026, 11, 29, 12, 0, 0)))  # noon of a fixed UTC day
TODAY = utc_day(NOW)
GUIDE = "https://docs.example.com/guide"
ANSWERED = "a" * 24
DECLINED = "b" * 24


def _request(question: str, page: str | None = None) -> ChatRequest:
    context: dict[str, object] = {}
    if page is not None:
        context["page"] = {"url": page, "title": "A page"}
    return ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": question}], "context": context}
    )


async def _events(answer_id: str, *, no_source: bool) -> AsyncGenerator[Event, None]:
    yield Step("Question received", "", 0)
    yield TextDelta("An answer.")
    yield End("stop", {}, answer_id=answer_id, no_source=no_source)


async def _answer(log: VisitLog, answer_id: str, question: str, page: str | None, *, declined):
    events = log.observe(_request(question, page), _events(answer_id, no_source=declined))
    answer = [event async for event in events]
    await log.writes.settled()
    return answer


def _log(store: MemoryStore, *, keep: bool = False) -> VisitLog:
    return VisitLog(store, keep_questions=keep, clock=lambda: NOW)


async def _rate(log: VisitLog, store: MemoryStore, answer_id: str, rating: str, **more) -> None:
    feedback = FeedbackRequest.model_validate({"answer_id": answer_id, "rating": rating, **more})
    await FeedbackBook(store, clock=lambda: NOW).record(feedback)
    log.rated(feedback)
    await log.writes.settled()


async def test_answers_and_declines_are_counted_by_day_and_page_without_query_or_fragment():
    store = MemoryStore()
    log = _log(store)

    await _answer(log, ANSWERED, "How?", f"{GUIDE}/?utm=x#install", declined=False)
    await _answer(log, DECLINED, "Why?", f"{GUIDE}/#top", declined=True)
    day = await day_report(store, TODAY)

    assert (day["answers"], day["declined"]) == (2, 1)
    assert day["pages"] == [{"page": GUIDE, "answers": 2, "declined": 1, "up": 0, "down": 0}]


async def test_an_answer_is_counted_only_after_its_end_line_has_been_passed_on():
    store = MemoryStore()
    log = _log(store)
    events = log.observe(_request("How?"), _events(ANSWERED, no_source=False))

    async for event in events:
        if type(event) is End:
            assert await store.rows(f"answers-{TODAY}") == {}
    await log.writes.settled()
    assert list(await store.rows(f"answers-{TODAY}")) == [ANSWERED]


async def test_a_failing_store_is_logged_and_the_answer_goes_through_whole(caplog):
    class FailingStore(MemoryStore):
        async def put(self, partition: str, row: str, fields: dict[str, str]) -> None:
            raise StoreUnavailable("TimeoutError")

    events = await _answer(_log(FailingStore()), ANSWERED, "How?", None, declined=False)

    assert type(events[-1]) is End
    assert "not counted for the report" in caplog.text


async def test_ratings_count_on_their_own_page_or_else_their_answers_page():
    store = MemoryStore()
    log = _log(store)
    await _answer(log, ANSWERED, "How?", GUIDE, declined=False)
    await _answer(log, DECLINED, "Why?", None, declined=True)

    await _rate(log, store, ANSWERED, "up")  # no page of its own: its answer's
    await _rate(log, store, DECLINED, "down", page={"url": "https://docs.example.com/faq/#x"})
    day = await day_report(store, TODAY)

    assert (day["up"], day["down"]) == (1, 1)
    assert {page["page"]: (page["up"], page["down"]) for page in day["pages"]} == {
        GUIDE: (1, 0),
        "https://docs.example.com/faq": (0, 1),
        "(no page)": (0, 0),
    }


@pytest.mark.parametrize("keep", [False, True])
async def test_declined_and_rated_down_questions_are_kept_only_when_the_owner_keeps_them(keep):
    store = MemoryStore()
    log = _log(store, keep=keep)
    await _answer(log, ANSWERED, "How do I pay?", GUIDE, declined=False)
    await _answer(log, DECLINED, "Who won in 1998?", GUIDE, declined=True)
    await _answer(log, "c" * 24, "Is it good?", GUIDE, declined=False)

    await _rate(log, store, ANSWERED, "down")
    await _rate(log, store, "c" * 24, "up")
    kept = {(q["why"], q["question"]) for q in (await day_report(store, TODAY))["questions"]}

    expected = {("declined", "Who won in 1998?"), ("rated down", "How do I pay?")}
    assert kept == (expected if keep else set())


async def test_kept_questions_are_deleted_once_past_thirty_days():
    store = MemoryStore()
    old_day = utc_day(NOW - 31 * 86_400)
    await store.put(f"questions-{old_day}", DECLINED, {"question": "old", "why": "declined"})
    await store.put(f"questions-{TODAY}", ANSWERED, {"question": "new", "why": "declined"})

    await _answer(_log(store, keep=True), "d" * 24, "Hi?", None, declined=False)

    assert await store.rows(f"questions-{old_day}") == {}
    assert list(await store.rows(f"questions-{TODAY}")) == [ANSWERED]


async def test_the_report_lists_days_today_first():
    store = MemoryStore()
    await _answer(_log(store), ANSWERED, "How?", GUIDE, declined=False)

    data = await report(store, 3, clock=lambda: NOW + 86_400)

    assert [(day["day"], day["answers"]) for day in data["days"]] == [
        ("2026-11-30", 0),
        ("2026-11-29", 1),
        ("2026-11-28", 0),
    ]


async def test_the_report_text_has_a_line_per_day_and_per_page():
    store = MemoryStore()
    log = _log(store, keep=True)
    await _answer(log, DECLINED, "Who won in 1998?", GUIDE, declined=True)

    text = as_text(await report(store, 1, clock=lambda: NOW))

    assert text.splitlines()[:4] == [
        "2026-11-29  answers 1  declined 1  thumbs up 0  thumbs down 0",
        f"  {'page':<{len(GUIDE)}}  answers  declined  up  down",
        f"  {GUIDE}        1         1   0     0",
        f"  declined on {GUIDE}: Who won in 1998?",
    ]


async def test_an_answer_left_before_its_end_closes_the_events_behind_it_at_once():
    closed = []

    async def held() -> AsyncGenerator[Event, None]:
        try:
            yield Step("Question received", "", 0)
            yield TextDelta("An answer.")
        finally:
            closed.append(True)

    events = _log(MemoryStore()).observe(_request("How?"), held())
    await anext(events)
    await events.aclose()

    assert closed == [True]


async def test_a_day_lists_its_ten_busiest_pages_most_answers_first():
    store = MemoryStore()
    log = _log(store)
    for page in range(12):
        for answer in range(page + 1):
            answer_id = f"{page:02d}{answer:02d}".ljust(24, "0")
            await _answer(log, answer_id, "How?", f"{GUIDE}/{page}", declined=False)

    pages = (await day_report(store, TODAY))["pages"]

    assert [page["page"] for page in pages] == [f"{GUIDE}/{n}" for n in range(11, 1, -1)]


class HangingStore(MemoryStore):
    """Takes every row and never answers; says whether a write was given up (cancelled)."""

    def __init__(self) -> None:
        super().__init__()
        self.given_up = 0

    async def put(self, partition: str, row: str, fields: dict[str, str]) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.given_up += 1
            raise


class SlowStore(MemoryStore):
    """Keeps every row, after letting the event loop run a while."""

    async def put(self, partition: str, row: str, fields: dict[str, str]) -> None:
        for _ in range(20):
            await asyncio.sleep(0)
        await super().put(partition, row, fields)


async def _answered_unwaited(log: VisitLog, answer_id: str) -> list[Event]:
    events = log.observe(_request("How?"), _events(answer_id, no_source=False))
    return [event async for event in events]


async def test_report_writes_in_flight_are_bounded_and_the_rest_skipped_with_a_warning(caplog):
    writes = ReportWrites(max_in_flight=3, close_seconds=0)
    log = VisitLog(HangingStore(), clock=lambda: NOW, writes=writes)

    answers = [await _answered_unwaited(log, f"{n}".ljust(24, "0")) for n in range(5)]
    in_flight, skipped = writes.in_flight, writes.skipped
    await log.aclose()

    assert all(type(answer[-1]) is End for answer in answers)
    assert (in_flight, skipped) == (3, 2)
    assert "report writes are already waiting for the store" in caplog.text


async def test_shutdown_finishes_a_report_write_under_way_to_a_working_store():
    store = SlowStore()
    log = _log(store)
    await _answered_unwaited(log, ANSWERED)
    before = await store.rows(f"answers-{TODAY}")

    await log.aclose()

    assert before == {}
    assert list(await store.rows(f"answers-{TODAY}")) == [ANSWERED]


async def test_shutdown_gives_up_on_a_report_write_the_store_never_finishes(caplog):
    store = HangingStore()
    log = VisitLog(store, clock=lambda: NOW, writes=ReportWrites(close_seconds=0.05))
    await _answered_unwaited(log, ANSWERED)

    await log.aclose()

    assert (store.given_up, log.writes.in_flight) == (1, 0)
    assert "1 report writes were given up at shutdown" in caplog.text


async def test_no_report_write_is_sent_while_the_limits_breaker_says_the_store_is_sick():
    store = MemoryStore()
    ledger = Ledger(MemoryStore())
    ledger.failed(StoreUnavailable("down"))
    log = VisitLog(store, clock=lambda: NOW, writes=ReportWrites(breaker=ledger))

    await _answer(log, ANSWERED, "How?", GUIDE, declined=False)

    assert (await store.rows(f"answers-{TODAY}"), log.writes.skipped) == ({}, 1)


async def test_a_report_write_the_store_fails_opens_the_limits_breaker():
    class FailingStore(MemoryStore):
        async def put(self, partition: str, row: str, fields: dict[str, str]) -> None:
            raise StoreUnavailable("TimeoutError")

    ledger = Ledger(MemoryStore())
    log = VisitLog(FailingStore(), writes=ReportWrites(breaker=ledger))
    healthy_before = ledger.store_healthy

    await _answer(log, ANSWERED, "How?", None, declined=False)

    assert (healthy_before, ledger.store_healthy) == (True, False)


async def test_the_services_shutdown_lets_a_report_write_land_before_the_store_closes():
    class ClosingStore(SlowStore):
        """Says which answers' rows it held when it was closed."""

        async def aclose(self) -> None:
            self.answers_at_close = list(await self.rows(f"answers-{utc_day(time.time())}"))
            await super().aclose()

    store = ClosingStore()
    service = ChatService(
        Settings(), OfflineHost(), None, Limiter(Quotas(), store), visits=VisitLog(store)
    )
    reply = await service.complete("application/json", orjson.dumps(question("How?")), {}, None)
    answer_id = orjson.loads(reply.body)["context"]["answer_id"]

    await service.aclose()

    assert store.answers_at_close == [answer_id]
