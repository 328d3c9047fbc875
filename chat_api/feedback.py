"""Visitors' ratings of answers (`POST /api/feedback`): one row per rated answer, kept in the
limits' store (the Azure table every instance shares, or this process's memory) under the UTC
day it was given, so that a report can read each day's ratings and the pages they came from.
A second rating of the same answer replaces the first."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from chat_api.limits.store import RowStore, StoreUnavailable
from chat_api.protocol import FeedbackRequest

log = logging.getLogger(__name__)

PARTITION = "feedback-{day}"


@dataclass(frozen=True, slots=True)
class Rating:
    answer_id: str
    rating: str  # "up" or "down"
    comment: str = ""
    page_url: str = ""
    page_title: str = ""


class FeedbackBook:
    def __init__(self, store: RowStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    async def record(self, feedback: FeedbackRequest) -> bool:
        """Keep the rating under today's date; False (and a warning) when the store fails: a
        visitor's rating is not worth failing their request for."""
        page = feedback.page
        fields = {
            "rating": feedback.rating,
            "comment": feedback.comment,
            "page_url": page.url if page is not None else "",
            "page_title": page.title if page is not None else "",
        }
        try:
            await self.store.put(partition(utc_day(self._clock())), feedback.answer_id, fields)
        except StoreUnavailable as exc:
            log.warning("a rating was not kept: the store is unavailable (%s)", exc)
            return False
        return True

    async def ratings(self, day: str) -> list[Rating]:
        """The ratings given on a UTC day (`YYYYMMDD`)."""
        rows = await self.store.rows(partition(day))
        return [
            Rating(
                answer_id=row,
                rating=fields.get("rating", ""),
                comment=fields.get("comment", ""),
                page_url=fields.get("page_url", ""),
                page_title=fields.get("page_title", ""),
            )
            for row, fields in rows.items()
        ]


def partition(day: str) -> str:
    return PARTITION.format(day=day)


def utc_day(now: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(now))
