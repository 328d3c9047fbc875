from __future__ import annotations

from chat_api.events import End, TextDelta
from chat_api.hosts.offline import NO_MODEL, NOTHING_FOUND, OfflineHost
from chat_api.prompt import Prompt
from chat_api.protocol import Message
from chat_api.retrieval import Passage


async def _answer(prompt: Prompt) -> tuple[str, list]:
    events = [e async for e in OfflineHost().stream_answer(prompt)]
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events


async def test_opens_by_saying_no_model_is_configured_and_how_to_set_one():
    text, _ = await _answer(Prompt(messages=[], question="q"))

    assert text.startswith(NO_MODEL)
    assert "OPENAI_BASE_URL" in NO_MODEL
    assert "AZURE_OPENAI_ENDPOINT" in NO_MODEL


async def test_quotes_each_source_with_its_citation_number():
    sources = (
        Passage("a", "Running", "docs/running.md", "Run make run."),
        Passage("b", "Testing", "docs/testing.md", "Run make test."),
    )

    text, events = await _answer(Prompt(messages=[], question="q", sources=sources))

    assert "**Running** [1]\n\n> Run make run." in text
    assert "**Testing** [2]\n\n> Run make test." in text
    assert isinstance(events[-1], End)


async def test_streams_word_by_word():
    _, events = await _answer(Prompt(messages=[], question="q"))

    assert len([e for e in events if isinstance(e, TextDelta)]) > 20


async def test_says_so_when_nothing_was_found():
    text, _ = await _answer(Prompt(messages=[], question="q"))

    assert NOTHING_FOUND in text


async def test_the_search_query_is_the_question_keywords():
    messages = [Message(role="user", content="How do I turn streaming off?")]

    assert await OfflineHost().generate_query(messages) == "turn streaming off"


async def test_there_are_no_embeddings_so_search_is_full_text():
    assert await OfflineHost().embed(["anything"]) == []
