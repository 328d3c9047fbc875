"""The chat + search flow, end to end inside the process: the real OpenAI-compatible host over
the mocked model (a query-generation call, then the streamed answer), the Azure AI Search
retriever over a mocked `SearchClient.search`."""

from __future__ import annotations

import dataclasses
import re

import orjson
import pytest

from chat_api.pipeline import (
    NOTHING_RELEVANT,
    NOTHING_RELEVANT_STEP,
    SEARCH_FAILED_STEP,
    citation,
)
from chat_api.prompt import SYSTEM, SYSTEM_WITH_SOURCES
from chat_api.retrieval import Passage
from chat_api.service import ChatService
from chat_api.settings import Settings
from tests.support.ndjson import answer_text, citations, question, steps
from tests.support.search_mock import DOCUMENTS

# Chat Completions, whose requests carry the whole prompt as `messages`; the Responses API's
# flow is in test_responses_*.py.
SETTINGS = Settings(
    model_host="openai",
    model_api="chat",
    openai_chat_model="gpt-4o-mini",
    openai_api_key="sk-test",
    retrieval="azure",
    azure_search_endpoint="https://search.example.net",
    azure_search_api_key="search-key",
    model_retry_seconds=0,
)
CITED_ANSWER = "The basic plan costs 10 euros a month [1], and returns are free [2]."


# A failure before the response began gets its own status. How long the first model call takes
# here (the SDK's first set-up) varies with the machine's load, so these tests give the opening
# window room enough that the failure always comes within it.
WITHIN_THE_WINDOW = 30.0


def _service(opened, **changes) -> ChatService:
    return opened.service(SETTINGS.model_copy(update=changes))


async def _stream(service: ChatService, body: dict) -> tuple[int, list[dict]]:
    reply = await service.stream("application/json", orjson.dumps(body))
    if isinstance(reply.body, bytes):
        return reply.status, [orjson.loads(reply.body)]
    return reply.status, [orjson.loads(line) async for line in reply.body]


async def test_the_model_writes_the_query_that_is_searched(opened, mock_model, fake_search):
    body = question("And what does it cost?", "Tell me about the basic plan", "It has...")

    await _stream(_service(opened), body)

    (query_call,) = mock_model.query_requests
    assert query_call["stream"] is False
    assert query_call["messages"][-1] == {"role": "user", "content": "And what does it cost?"}
    assert fake_search.calls[0]["search_text"] == "and what does it cost"


async def test_a_first_question_is_answered_in_one_model_call(opened, mock_model, fake_search):
    status, lines = await _stream(_service(opened), question("What does it cost?"))

    assert status == 200
    assert [r.get("stream") for r in mock_model.chat_requests] == [True]
    assert answer_text(lines) == "You asked: What does it cost?"
    assert lines[-1]["context"]["finish_reason"] == "stop"


async def test_a_follow_up_is_answered_after_the_model_writes_its_search_query(
    opened, mock_model, fake_search
):
    follow_up = question("What does it cost?", "Does it stream?", "Yes.")

    status, lines = await _stream(_service(opened), follow_up)

    assert status == 200
    assert [r.get("stream") for r in mock_model.chat_requests] == [False, True]
    assert [c["search_text"] for c in fake_search.calls] == ["what does it cost"]
    assert answer_text(lines) == "You asked: What does it cost?"


async def test_a_first_question_is_searched_for_as_asked(opened, mock_model, fake_search):
    await _stream(_service(opened), question("  What does\nit cost?  "))

    assert [c["search_text"] for c in fake_search.calls] == ["What does it cost?"]


async def test_the_found_documents_reach_the_answer_prompt_numbered(
    opened, mock_model, fake_search
):
    await _stream(_service(opened), question("What does it cost?"))

    sent = mock_model.answer_requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": SYSTEM_WITH_SOURCES}
    grounding = sent[-2]["content"]
    assert '<source id="1" title="Pricing: Basic plan">\nThe basic plan costs 10 euros' in grounding
    assert '<source id="2" title="Returns">\nReturns are free within 30 days.' in grounding


async def test_citations_number_the_sources_as_the_prompt_does(opened, mock_model, fake_search):
    _, lines = await _stream(_service(opened), question("What does it cost?"))

    assert citations(lines) == [
        {
            "id": "1",
            "title": "Pricing: Basic plan",
            "url": "kb/pricing.md#basic-plan",
            "snippet": "The basic plan costs 10 euros a month.",
        },
        {
            "id": "2",
            "title": "Returns",
            "url": "https://example.org/returns",
            "snippet": "Returns are free within 30 days.",
        },
    ]


def test_a_citation_links_the_url_or_else_the_source_and_prefers_the_caption():
    passage = Passage("x", "Guide", "docs/guide.md#setup", "word " * 200, snippet="best part")

    assert citation(3, passage).id == "3"
    assert citation(3, passage).url == "docs/guide.md#setup"
    assert citation(3, passage).snippet == "best part"
    linked = dataclasses.replace(passage, url="https://example.org/guide", snippet="")
    assert citation(1, linked).url == "https://example.org/guide"
    assert len(citation(1, linked).snippet) <= 240
    assert citation(1, linked).snippet.endswith("…")


async def test_steps_show_the_query_and_what_was_found_with_timings(
    opened, mock_model, fake_search
):
    _, lines = await _stream(_service(opened), question("What does it cost?"))

    shown = steps(lines)
    assert [(s["title"], s["detail"]) for s in shown] == [
        ("Question received", "What does it cost?"),
        ("Searching the knowledge base", "What does it cost?"),
        ("Found 2 sources", "Pricing: Basic plan; Returns"),
        ("Generating the answer", "gpt-4o-mini"),
    ]
    timings = [s["elapsed_ms"] for s in shown]
    assert timings == sorted(timings)


@pytest.mark.parametrize("route", ["stream", "complete"])
async def test_a_failed_search_is_a_503_before_any_output(opened, mock_model, fake_search, route):
    fake_search.error = TimeoutError()
    service = _service(opened, opening_window_seconds=WITHIN_THE_WINDOW)

    reply = await getattr(service, route)("application/json", orjson.dumps(question("Cost?")))

    assert reply.status == 503
    assert orjson.loads(reply.body)["error"]["code"] == "search_unavailable"
    assert mock_model.answer_requests == []


async def test_with_continue_the_answer_comes_without_sources_and_says_so(
    opened, mock_model, fake_search
):
    fake_search.error = TimeoutError()

    status, lines = await _stream(_service(opened, search_failure="continue"), question("Cost?"))

    assert status == 200
    assert SEARCH_FAILED_STEP in [s["title"] for s in steps(lines)]
    assert citations(lines) == []
    assert mock_model.answer_requests[-1]["messages"][0]["content"] == SYSTEM
    assert lines[-1]["context"]["finish_reason"] == "stop"


async def test_retrieval_off_asks_no_query_and_searches_nothing(opened, mock_model, fake_search):
    body = question("Cost?")
    body["context"]["overrides"]["retrieval"] = False

    _, lines = await _stream(_service(opened), body)

    assert mock_model.query_requests == []
    assert fake_search.calls == []
    assert [s["title"] for s in steps(lines)] == ["Question received", "Generating the answer"]


@pytest.mark.parametrize(("overrides", "top"), [({}, 4), ({"top": 7}, 7)])
async def test_top_k_comes_from_the_request_or_the_settings(
    opened, mock_model, fake_search, overrides, top
):
    body = question("Cost?")
    body["context"]["overrides"].update(overrides)

    await _stream(_service(opened, retrieval_top=4), body)

    assert fake_search.calls[0]["top"] == top


async def test_a_throttled_query_call_is_a_429_before_any_output(opened, mock_model, fake_search):
    mock_model.failures = [(429, {"retry-after": "9"})]

    service = _service(opened, opening_window_seconds=WITHIN_THE_WINDOW)
    status, lines = await _stream(service, question("Cost?"))

    assert status == 429
    error = lines[0]["error"]
    assert lines == [
        {
            "error": {
                "code": "rate_limited",
                "message": error["message"],
                "retry_after_seconds": 9,
                "ref": error["ref"],
            }
        }
    ]
    assert fake_search.calls == []


async def test_a_grounded_answer_streams_these_lines(opened, mock_model, fake_search, snapshot):
    mock_model.answer = lambda messages: CITED_ANSWER
    fake_search.documents = DOCUMENTS

    _, lines = await _stream(_service(opened), question("What does the basic plan cost?"))

    for line in lines:
        line.get("context", {}).get("step", {}).pop("elapsed_ms", None)
    assert re.fullmatch("[0-9a-f]{24}", lines[-1]["context"].pop("answer_id"))
    assert lines == snapshot


async def test_thinking_steps_are_timed_like_the_others(opened, mock_model):
    service = _service(
        opened,
        model_api="responses",
        openai_chat_model="gpt-5.4-mini",
        reasoning_model=True,
        retrieval="off",
    )

    _, lines = await _stream(service, question("Think first?"))

    thinking = [s for s in steps(lines) if s["title"] == "Thinking"]
    generating = next(s for s in steps(lines) if s["title"] == "Generating the answer")
    assert thinking
    assert all(s["elapsed_ms"] >= generating["elapsed_ms"] for s in thinking)
    assert answer_text(lines) == "You asked: Think first?"


# --- Nothing relevant found ---------------------------------------------------------------------

FAR_OFF = [  # what the semantic ranker scores as unrelated to the question (0 to 4)
    {**DOCUMENTS[0], "@search.reranker_score": 0.9},
    {**DOCUMENTS[1], "@search.reranker_score": 0.4},
    {**DOCUMENTS[0], "id": "a2", "source": "kb/pricing.md#pro", "@search.reranker_score": 0.3},
]


def _ranked(opened, **changes) -> ChatService:
    return _service(opened, azure_search_semantic_ranker=True, **changes)


async def test_nothing_relevant_is_declined_without_asking_the_model_for_an_answer(
    opened, mock_model, fake_search
):
    fake_search.documents = FAR_OFF

    status, lines = await _stream(_ranked(opened), question("Who won the 1998 World Cup?"))

    assert status == 200
    assert mock_model.answer_requests == []
    assert answer_text(lines).startswith(NOTHING_RELEVANT)
    assert lines[-1]["context"] == {
        "finish_reason": "stop",
        "usage": {},
        "answer_id": lines[-1]["context"]["answer_id"],
        "no_source": True,
    }
    assert steps(lines)[-1]["title"] == NOTHING_RELEVANT_STEP


async def test_a_declined_answer_has_its_own_id_to_be_rated_by(opened, mock_model, fake_search):
    fake_search.documents = FAR_OFF

    _, lines = await _stream(_ranked(opened), question("Who won the 1998 World Cup?"))

    assert len(lines[-1]["context"]["answer_id"]) == 24


async def test_a_decline_offers_the_closest_pages_once_each(opened, mock_model, fake_search):
    fake_search.documents = FAR_OFF

    _, lines = await _stream(_ranked(opened), question("Who won the 1998 World Cup?"))

    assert [c["title"] for c in citations(lines)] == ["Pricing: Basic plan", "Returns"]
    assert "Pricing: Basic plan [1]; Returns [2]" in answer_text(lines)


async def test_one_relevant_passage_is_enough_to_ask_the_model(opened, mock_model, fake_search):
    fake_search.documents = [{**FAR_OFF[0], "@search.reranker_score": 2.5}, FAR_OFF[1]]

    _, lines = await _stream(_ranked(opened), question("What does it cost?"))

    assert len(mock_model.answer_requests) == 1
    assert "no_source" not in lines[-1]["context"]


async def test_with_no_source_answer_model_the_model_answers_anyway(
    opened, mock_model, fake_search
):
    fake_search.documents = FAR_OFF

    _, lines = await _stream(
        _ranked(opened, no_source_answer="model"), question("Who won the 1998 World Cup?")
    )

    assert len(mock_model.answer_requests) == 1
    assert "no_source" not in lines[-1]["context"]


async def test_the_completion_route_says_no_source_too(opened, mock_model, fake_search):
    fake_search.documents = FAR_OFF

    reply = await _ranked(opened).complete(
        "application/json", orjson.dumps(question("Who won the 1998 World Cup?"))
    )

    body = orjson.loads(reply.body)
    assert body["context"]["no_source"] is True
    assert body["message"]["content"].startswith(NOTHING_RELEVANT)
