"""`python -m chat_api.evaluate` (what `make eval` runs): the retrieval's quality on a labelled
question set (default: `docs/eval/questions.jsonl`, about the bundled documentation), searched
the way the app searches a first question: the question as its query, the retriever its
settings choose (the local index unless retrieval is configured otherwise). Prints recall@3,
MRR and the shares of questions declined; exit status 1 when a figure misses its target, 2 on
bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chat_api import evaluate, process
from chat_api.pipeline import search_query
from chat_api.protocol import Message
from chat_api.retrieval import Passage
from chat_api.service import ChatService
from chat_api.settings import Settings, SettingsError

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "docs" / "eval" / "questions.jsonl"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chat_api.evaluate", description=__doc__)
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="a JSON Lines file")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument(
        "--no-targets", action="store_true", help="exit 0 even when a figure misses its target"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    process.quiet_sdk_loggers()
    try:
        settings = Settings.from_env()
        questions = evaluate.load_questions(args.questions)
    except (SettingsError, evaluate.QuestionSetError) as exc:
        print(f"Cannot evaluate: {exc}", file=sys.stderr)
        return 2
    if settings.retrieval == "off":  # a model is configured, but no search: the local index
        settings = settings.model_copy(update={"retrieval": "local"})
    questions = questions[: args.limit] if args.limit > 0 else questions
    report = asyncio.run(_run(settings, questions))
    answerable, unanswerable = len(report.answerable), len(report.unanswerable)
    print(
        f"Retrieval quality over {args.questions.name} ({settings.retrieval} retrieval): "
        f"{answerable} answerable and {unanswerable} unanswerable questions"
    )
    for line in report.lines():
        print(line)
    return 1 if report.missed_targets() and not args.no_targets else 0


async def _run(settings: Settings, questions: list[evaluate.Question]) -> evaluate.Report:
    """The questions through the app's own host (for the query) and retriever."""
    service = ChatService.from_settings(settings)
    retriever = service.retriever
    assert retriever is not None  # retrieval is on: `main` made sure

    async def search(question: str) -> list[Passage]:
        query = await search_query([Message(role="user", content=question)], service.host)
        return await retriever.search(query, top=evaluate.DEPTH)

    try:
        return await evaluate.evaluate(questions, search, settings.retrieval_top)
    finally:
        await service.aclose()


if __name__ == "__main__":
    sys.exit(main())
