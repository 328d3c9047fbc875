"""The report of what visitors asked (`make report`): per UTC day, the answers, the declined
questions, the thumbs up and down, and the pages they came from; the kept questions when any.
Built from the store the app writes to, as plain data (JSON for `GET /api/report`) and as text."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from chat_api.feedback import FeedbackBook, utc_day
from chat_api.limits.store import RowStore
from chat_api.retrieval import page_address
from chat_api.visits import ANSWERS, DAY_SECONDS, DECLINED, QUESTIONS

COUNTS = ("answers", "declined", "up", "down")
TOP_PAGES = 10
MAX_DAYS = 90
NO_PAGE = "(no page)"


async def day_report(store: RowStore, day: str) -> dict[str, Any]:
    """One UTC day (`YYYYMMDD`): its counts, its pages (most asked first) and kept questions."""
    answers = await store.rows(ANSWERS.format(day=day))
    ratings = await FeedbackBook(store).ratings(day)
    totals: Counter[str] = Counter()
    pages: dict[str, Counter[str]] = {}

    def count(page: str, what: str) -> None:
        totals[what] += 1
        pages.setdefault(page or NO_PAGE, Counter())[what] += 1

    for fields in answers.values():
        count(fields.get("page", ""), "answers")
        if fields.get("outcome") == DECLINED:
            count(fields.get("page", ""), "declined")
    for rating in ratings:
        # The rating's own page, else the page its answer was asked on (the same day's).
        page = page_address(rating.page_url) or answers.get(rating.answer_id, {}).get("page", "")
        count(page, rating.rating)
    # Busiest first: by answers, then by ratings (a rating may come from a page asked elsewhere).
    ranked = sorted(
        pages.items(), key=lambda item: (-item[1]["answers"], -sum(item[1].values()), item[0])
    )
    questions = await store.rows(QUESTIONS.format(day=day))
    return {
        "day": f"{day[:4]}-{day[4:6]}-{day[6:]}",
        **{what: totals[what] for what in COUNTS},
        "pages": [
            {"page": page, **{what: counted[what] for what in COUNTS}}
            for page, counted in ranked[:TOP_PAGES]
        ],
        "questions": [
            {"question": q["question"], "why": q.get("why", ""), "page": q.get("page", "")}
            for q in questions.values()
        ],
    }


async def report(
    store: RowStore, days: int, *, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """The last `days` UTC days, today first, each as `day_report` gives it."""
    now = clock()
    wanted = max(1, min(days, MAX_DAYS))
    return {
        "days": [await day_report(store, utc_day(now - age * DAY_SECONDS)) for age in range(wanted)]
    }


def as_text(data: dict[str, Any]) -> str:
    """The report as a plain table per day: its counts, its top pages, its kept questions."""
    lines = []
    for day in data["days"]:
        lines.append(
            f"{day['day']}  answers {day['answers']}  declined {day['declined']}"
            f"  thumbs up {day['up']}  thumbs down {day['down']}"
        )
        if day["pages"]:
            width = max(len(page["page"]) for page in day["pages"])
            lines.append(f"  {'page':<{width}}  answers  declined  up  down")
            for page in day["pages"]:
                lines.append(
                    f"  {page['page']:<{width}}  {page['answers']:>7}  {page['declined']:>8}"
                    f"  {page['up']:>2}  {page['down']:>4}"
                )
        for question in day["questions"]:
            where = f" on {question['page']}" if question["page"] else ""
            lines.append(f"  {question['why']}{where}: {question['question']}")
        lines.append("")
    return "\n".join(lines)
