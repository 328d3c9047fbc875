"""`make eval`: the figures computed from where each question's answer was found, the bundled
question set, and the command over a few of its questions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from chat_api import evaluate
from chat_api.evaluate.__main__ import DEFAULT_QUESTIONS, main
from chat_api.retrieval import Passage
from chat_api.retrieval.local import DEFAULT_KNOWLEDGE_BASE, LocalRetriever

ROOT = Path(__file__).resolve().parents[2]


def _passage(link: str, relevant: bool = True) -> Passage:
    return Passage(id=link, title=link, source=link, text="", relevant=relevant)


def _searching(results: dict[str, list[Passage]]) -> evaluate.Search:
    async def search(question: str) -> list[Passage]:
        return results[question]

    return search


async def test_the_figures_follow_from_where_each_answer_was_found():
    questions = [
        evaluate.Question("first", ("a#1",)),
        evaluate.Question("fourth", ("a#2",)),
        evaluate.Question("missing", ("a#3",)),
        evaluate.Question("off topic", ()),
        evaluate.Question("near topic", ()),
    ]
    others = [_passage(f"b#{n}") for n in range(3)]
    results = {
        "first": [_passage("a#1"), *others],
        "fourth": [*others, _passage("a#2")],
        "missing": [_passage("c#1", relevant=False)],
        "off topic": [_passage("c#1", relevant=False), _passage("c#2", relevant=False)],
        "near topic": [_passage("c#1", relevant=False), _passage("c#2")],
    }

    report = await evaluate.evaluate(questions, _searching(results))

    assert report.recall_at_3 == pytest.approx(1 / 3)
    assert report.mrr == pytest.approx((1 + 1 / 4 + 0) / 3)
    assert report.unanswerable_declined == pytest.approx(1 / 2)
    assert report.answerable_declined == pytest.approx(1 / 3)
    assert report.missed_targets() == [
        "recall@3",
        "MRR",
        "unanswerable questions declined",
        "answerable ones wrongly declined",
    ]


async def test_a_label_without_an_anchor_stands_for_any_section_of_its_page():
    question = evaluate.Question("q", ("https://docs.example.com/install/",))
    found = [
        _passage("https://docs.example.com/other/"),
        _passage("https://docs.example.com/install/#pip"),
    ]

    outcome = await evaluate.outcome(question, _searching({"q": found}))

    assert outcome.rank == 2


async def test_only_the_passages_an_answer_gets_decide_a_decline():
    question = evaluate.Question("q", ())
    found = [_passage(f"x#{n}", relevant=False) for n in range(3)] + [_passage("x#4")]

    outcome = await evaluate.outcome(question, _searching({"q": found}), top=3)

    assert outcome.declined is True


def test_the_bundled_question_set_labels_sections_that_exist():
    questions = evaluate.load_questions(DEFAULT_QUESTIONS)
    index = LocalRetriever.from_folder(DEFAULT_KNOWLEDGE_BASE)
    sections = {row[0] for row in index._db.execute("SELECT source FROM passages")}

    labels = {answer for q in questions for answer in q.answers}

    assert len([q for q in questions if q.answers]) >= 40
    assert len([q for q in questions if not q.answers]) >= 10
    assert labels - sections == set()


def test_the_command_prints_the_four_figures_for_a_few_bundled_questions(monkeypatch, capsys):
    for name in (
        "AZURE_SEARCH_ENDPOINT",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CHAT_RETRIEVAL", raising=False)

    status = main(["--limit", "8", "--no-targets"])

    out = capsys.readouterr().out
    assert status == 0
    assert "(local retrieval): 8 answerable and 0 unanswerable questions" in out
    for figure in evaluate.TARGETS:
        assert f"  {figure[0]} " in out


async def test_a_set_without_unanswerable_questions_says_so_instead_of_a_figure():
    questions = [evaluate.Question("q", ("a#1",))]

    report = await evaluate.evaluate(questions, _searching({"q": [_passage("a#1")]}))

    assert report.missed_targets() == []
    assert "  unanswerable questions declined      n/a   no such questions in the set" in (
        report.lines()
    )


def test_a_missed_target_fails_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("AZURE_SEARCH_ENDPOINT", raising=False)
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"question": "How do I deploy?", "answers": ["docs/nowhere.md#never"]}) + "\n",
        "utf-8",
    )

    status = main(["--questions", str(questions)])

    assert status == 1
    assert (
        "recall@3                           0.000   target ≥ 0.90   missed"
        in capsys.readouterr().out
    )


def test_a_malformed_line_names_its_place(tmp_path, capsys):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"question": "fine", "answers": []}\n{"question": "no answers"}\n', "utf-8"
    )

    status = main(["--questions", str(questions)])

    assert status == 2
    assert f"{questions}:2:" in capsys.readouterr().err


def test_make_eval_runs_the_evaluation():
    result = subprocess.run(
        ["make", "-n", "eval"], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert "-m chat_api.evaluate" in result.stdout
