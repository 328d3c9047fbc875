from __future__ import annotations

from chat_api.prompt import SYSTEM_WITH_SOURCES, build_prompt, estimate_tokens, trim_history
from chat_api.protocol import Message
from chat_api.retrieval import Passage


def _conversation(*contents: str) -> list[Message]:
    roles = ["user", "assistant"]
    return [Message(role=roles[i % 2], content=c) for i, c in enumerate(contents)]


def test_estimate_over_counts_english_and_counts_other_scripts():
    assert estimate_tokens("word " * 100) >= 125  # about 100 tokens in a real tokenizer
    assert estimate_tokens("日本語" * 10) >= 30


def test_history_within_budget_is_kept_whole():
    messages = _conversation("a", "b", "c")

    assert trim_history(messages, 1000) == messages


def test_oldest_turns_are_dropped_first_and_the_kept_history_starts_with_a_user():
    messages = _conversation("x" * 300, "y" * 300, "z" * 300, "w" * 300, "question")

    kept = trim_history(messages, 250)

    assert kept[-1].content == "question"
    assert kept[0].role == "user"
    assert len(kept) < len(messages)
    assert sum(estimate_tokens(m.content) for m in kept) <= 250


def test_the_question_is_kept_even_when_it_alone_is_over_budget():
    kept = trim_history(_conversation("x" * 3000), 10)

    assert [m.content for m in kept] == ["x" * 3000]


def test_sources_are_numbered_in_the_system_prompt():
    sources = [
        Passage("a", "First", "docs/a.md", "alpha"),
        Passage("b", "Second", "docs/b.md", "beta"),
    ]

    prompt = build_prompt(_conversation("q"), sources, budget_tokens=1000)

    system = prompt.messages[0]["content"]
    assert system.startswith(SYSTEM_WITH_SOURCES)
    assert "[1] First\nalpha" in system
    assert "[2] Second\nbeta" in system
    assert prompt.sources == tuple(sources)
