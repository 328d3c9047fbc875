"""What visitors asked, per UTC day: each complete answer (answered or declined) and the page it
was asked on, kept in the limits' store beside the ratings (`chat_api.feedback`), for `make
report`. Page addresses are kept without their query or fragment.

The text of a question is personal data: it is kept only when the owner turns it on
(`CHAT_KEEP_QUESTIONS=true`), only for declined and rated-down answers, and for
`QUESTION_DAYS` days. A rating refers to its answer by id, so this process remembers the last
`MAX_REMEMBERED` questions by answer id (in memory only) until they are rated or forgotten.

The report's rows are written in the background (`ReportWrites`): an answer's response ends
with its end line, and a rating's with its 204, whatever the store does."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable

from chat_api.events import End, Event, close_events
from chat_api.feedback import utc_day
from chat_api.limits.store import RowStore
from chat_api.protocol import ChatRequest, FeedbackRequest, Page
from chat_api.retrieval import page_address
from chat_api.visits.writes import ReportWrites

log = logging.getLogger(__name__)

ANSWERS = "answers-{day}"
QUESTIONS = "questions-{day}"
QUESTION_DAYS = 30
MAX_REMEMBERED = 10_000
DECLINED = "declined"
ANSWERED = "answered"
RATED_DOWN = "rated down"
DAY_SECONDS = 86_400


class VisitLog:
    def __init__(
        self,
        store: RowStore,
        *,
        keep_questions: bool = False,
        clock: Callable[[], float] = time.time,
        writes: ReportWrites | None = None,
    ) -> None:
        self._store = store
        self._keep = keep_questions
        self._clock = clock
        self._asked: OrderedDict[str, tuple[str, str]] = OrderedDict()  # answer id: question, page
        self._cleaned_on = ""
        self.writes = writes or ReportWrites()

    async def observe(
        self, request: ChatRequest, events: AsyncGenerator[Event, None]
    ) -> AsyncGenerator[Event, None]:
        """`events` passed on unchanged; a complete answer is counted after its end line has
        gone, in the background, so counting never holds the answer back."""
        try:
            async for event in events:
                yield event
                if type(event) is End and event.answer_id:
                    self.answered(request, event)
        finally:
            await close_events(events)  # a client gone: the calls behind it close now

    def answered(self, request: ChatRequest, end: End) -> None:
        """Count one complete answer (in the background); a store that fails is logged, never
        the answer's failure."""
        page = page_of(request.context.page)
        question = request.messages[-1].content
        if self._keep:
            self._remember(end.answer_id, question, page)
        kept = question if self._keep and end.no_source else None
        day = utc_day(self._clock())
        self.writes.start(
            lambda: self._count(day, end.answer_id, page, declined=end.no_source, question=kept),
            "an answer was not counted for the report",
        )

    def rated(self, feedback: FeedbackRequest) -> None:
        """Keep a rated-down answer's question (in the background), when questions are kept and
        this process still remembers it."""
        if not self._keep or feedback.rating != "down":
            return
        asked = self._asked.pop(feedback.answer_id, None)
        if asked is None:
            return
        question, page = asked
        day = utc_day(self._clock())
        self.writes.start(
            lambda: self._keep_question(day, feedback.answer_id, question, page, RATED_DOWN),
            "a rated-down question was not kept",
        )

    async def aclose(self) -> None:
        """Finish the report's writes under way, or give up on them past a short deadline."""
        await self.writes.aclose()

    async def _count(
        self, day: str, answer_id: str, page: str, *, declined: bool, question: str | None
    ) -> None:
        outcome = DECLINED if declined else ANSWERED
        await self._store.put(
            ANSWERS.format(day=day), answer_id, {"outcome": outcome, "page": page}
        )
        if question is not None:
            await self._keep_question(day, answer_id, question, page, DECLINED)
        await self._forget_old_questions(day)

    def _remember(self, answer_id: str, question: str, page: str) -> None:
        self._asked[answer_id] = (question, page)
        if len(self._asked) > MAX_REMEMBERED:
            self._asked.popitem(last=False)

    async def _keep_question(
        self, day: str, answer_id: str, question: str, page: str, why: str
    ) -> None:
        await self._store.put(
            QUESTIONS.format(day=day), answer_id, {"question": question, "why": why, "page": page}
        )

    async def _forget_old_questions(self, today: str) -> None:
        """Once a day per process: drop the kept questions of the days just past their time
        (a week of them, so a quiet week forgets nothing)."""
        if self._cleaned_on == today:
            return
        now = self._clock()
        for age in range(QUESTION_DAYS + 1, QUESTION_DAYS + 8):
            await self._store.drop(QUESTIONS.format(day=utc_day(now - age * DAY_SECONDS)))
        self._cleaned_on = today  # only once it worked: a failed clean-up is tried again


def page_of(page: Page | None) -> str:
    """The page's address as counted: without its query or fragment; "" for none."""
    if page is None:
        return ""
    return page_address(page.url)
