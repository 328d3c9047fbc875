"""Retrieval quality on a labelled question set: each question with the sections that answer
it (none for a question the documents do not answer), searched the way the app searches, scored
as recall@3, MRR, the share of unanswerable questions declined and the share of answerable ones
wrongly declined.

`python -m chat_api.evaluate` (what `make eval` runs) is the command; this module is the work.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from chat_api.retrieval import Passage

Search = Callable[[str], Awaitable[list[Passage]]]

# How deep the reciprocal rank looks, and the passages an answer is given (CHAT_RETRIEVAL_TOP).
DEPTH = 10
TOP = 3
# (name, the figure's attribute, the target, whether the figure must be at least or at most it)
TARGETS = (
    ("recall@3", "recall_at_3", 0.9, "min"),
    ("MRR", "mrr", 0.75, "min"),
    ("unanswerable questions declined", "unanswerable_declined", 0.9, "min"),
    ("answerable ones wrongly declined", "answerable_declined", 0.05, "max"),
)


class QuestionSetError(ValueError):
    """The question set cannot be read; says where and why."""


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    # The links of the sections that answer it (`docs/api.md#errors`, `https://…/page#anchor`);
    # a link without an anchor stands for any section of its page. Empty: unanswerable.
    answers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    question: Question
    rank: int | None  # the position of the first answering passage found, if within DEPTH
    declined: bool  # nothing in the top passages was relevant enough to answer from


def load_questions(path: Path) -> list[Question]:
    """The questions of a JSON Lines file: `{"question": "…", "answers": ["…"]}` per line."""
    questions: list[Question] = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise QuestionSetError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            text, answers = entry["question"], entry["answers"]
        except (ValueError, KeyError, TypeError):
            raise QuestionSetError(
                f'{path}:{number}: expected {{"question": "…", "answers": ["…"]}}'
            ) from None
        if not isinstance(text, str) or not isinstance(answers, list):
            raise QuestionSetError(f"{path}:{number}: question is text, answers a list of links")
        questions.append(Question(text, tuple(str(a) for a in answers)))
    return questions


def answers_question(passage: Passage, answer: str) -> bool:
    link = passage.url or passage.source
    return link == answer or ("#" not in answer and link.split("#", 1)[0] == answer)


async def outcome(question: Question, search: Search, top: int = TOP) -> Outcome:
    found = await search(question.text)
    rank = next(
        (
            position
            for position, passage in enumerate(found, start=1)
            if any(answers_question(passage, answer) for answer in question.answers)
        ),
        None,
    )
    return Outcome(question, rank, not any(p.relevant for p in found[:top]))


@dataclass(frozen=True, slots=True)
class Report:
    outcomes: list[Outcome]

    @property
    def answerable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.question.answers]

    @property
    def unanswerable(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.question.answers]

    @property
    def recall_at_3(self) -> float:
        return _share(self.answerable, lambda o: o.rank is not None and o.rank <= 3)

    @property
    def mrr(self) -> float:
        ranks = [1 / o.rank if o.rank else 0.0 for o in self.answerable]
        return sum(ranks) / len(ranks) if ranks else 0.0

    @property
    def unanswerable_declined(self) -> float:
        return _share(self.unanswerable, lambda o: o.declined)

    @property
    def answerable_declined(self) -> float:
        return _share(self.answerable, lambda o: o.declined)

    def measured(self, attribute: str) -> bool:
        """Whether a figure has questions to stand on (a set may have no unanswerable ones)."""
        about_unanswerable = attribute == "unanswerable_declined"
        return bool(self.unanswerable if about_unanswerable else self.answerable)

    def missed_targets(self) -> list[str]:
        return [
            name
            for name, attribute, target, kind in TARGETS
            if self.measured(attribute)
            and (
                getattr(self, attribute) < target
                if kind == "min"
                else getattr(self, attribute) > target
            )
        ]

    def lines(self) -> list[str]:
        out = []
        for name, attribute, target, kind in TARGETS:
            sign = "≥" if kind == "min" else "≤"
            if not self.measured(attribute):
                out.append(f"  {name:<34}   n/a   no such questions in the set")
                continue
            met = "missed" if name in self.missed_targets() else "met"
            out.append(
                f"  {name:<34} {getattr(self, attribute):5.3f}   target {sign} {target:.2f}   {met}"
            )
        out += [
            f"Not in the top 3: {o.question.text} ({_where(o)})"
            for o in self.answerable
            if not o.rank or o.rank > 3
        ]
        out += [f"Wrongly declined: {o.question.text}" for o in self.answerable if o.declined]
        out += [f"Not declined: {o.question.text}" for o in self.unanswerable if not o.declined]
        return out


async def evaluate(questions: list[Question], search: Search, top: int = TOP) -> Report:
    return Report([await outcome(question, search, top) for question in questions])


def _share(outcomes: list[Outcome], test: Callable[[Outcome], bool]) -> float:
    return sum(1 for o in outcomes if test(o)) / len(outcomes) if outcomes else 0.0


def _where(found: Outcome) -> str:
    return f"found at {found.rank}" if found.rank else f"not in the top {DEPTH}"
