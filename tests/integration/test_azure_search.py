"""Grounded answers over real HTTP: the app as a process, the stand-in model (query, embedding,
answer) and the stand-in Azure AI Search service, filled by the ingestion command (the knowledge
base and the app that answers from it are in conftest.py)."""

from __future__ import annotations

import httpx
import pytest

from standins.model_answers import embed, query_for
from tests.conftest import search_env
from tests.integration.conftest import INDEX, SEARCH_TIMEOUT, ask
from tests.support.ndjson import (
    answer_text,
    citations,
    live_lines,
    parse_lines,
    question,
    read_until_step,
    steps,
)


def test_the_sdk_sends_the_question_as_text_and_its_embedding_as_a_vector(rag_app, filled_search):
    ask(rag_app, "What does the basic plan cost?")

    stats = filled_search.stats()
    sent = stats["last_search"]
    query = "What does the basic plan cost?"
    assert sent["search"] == query
    assert sent["top"] == 3
    (vector_query,) = sent["vectorQueries"]
    assert (vector_query["kind"], vector_query["fields"]) == ("vector", "embedding")
    assert vector_query["vector"] == pytest.approx(embed(query))
    assert vector_query["k"] >= 3
    assert "queryType" not in sent
    request = stats["requests"][-1]
    assert request["path"] == f"/indexes('{INDEX}')/docs/search.post.search"
    assert request["api_version"]


def test_a_follow_ups_query_comes_from_a_non_streamed_model_call(
    rag_app, model_server, filled_search
):
    follow_up = question("And the basic plan?", "What plans are there?", "Basic and Pro.")
    httpx.post(rag_app.url + "/api/chat/stream", json=follow_up, timeout=20)

    asked = model_server.stats()["last_query_request"]
    assert asked["stream"] is False
    assert "search query" in asked["messages"][0]["content"]
    assert asked["messages"][-1] == {"role": "user", "content": "And the basic plan?"}
    assert filled_search.stats()["last_search"]["search"] == query_for("And the basic plan?")


def test_found_documents_reach_the_model_and_come_back_as_citations(rag_app, model_server):
    lines = parse_lines(ask(rag_app, "What does the basic plan cost?").content)

    cited = citations(lines)
    assert [c["id"] for c in cited] == ["1", "2", "3"][: len(cited)]
    assert cited[0]["title"] == "Pricing: Basic plan"
    assert cited[0]["url"].endswith("kb/pricing.md#basic-plan")
    sent = model_server.stats()["last_request"]["messages"]
    grounding = sent[-2]["content"]
    for c in cited:
        assert f'<source id="{c["id"]}" title="{c["title"]}">' in grounding
    assert "The basic plan costs 10 euros a month." in grounding
    assert "The basic plan costs" not in sent[0]["content"]
    assert lines[-1]["context"]["finish_reason"] == "stop"


def test_steps_show_the_question_the_query_what_was_found_and_generating(rag_app):
    lines = parse_lines(ask(rag_app, "What does the basic plan cost?").content)

    shown = steps(lines)
    assert [s["title"] for s in shown] == [
        "Question received",
        "Searching the knowledge base",
        "Found 3 sources",
        "Generating the answer",
    ]
    assert shown[1]["detail"] == "What does the basic plan cost?"
    assert shown[2]["detail"].startswith("Pricing: Basic plan")
    assert all(isinstance(s["elapsed_ms"], int) for s in shown)


def test_the_line_order_is_steps_citations_generating_text_end(rag_app):
    lines = parse_lines(ask(rag_app, "What does the basic plan cost?").content)

    kinds = []
    for line in lines:
        context = line.get("context", {})
        kind = next(iter(context), "text") if context else "text"
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    assert kinds == ["step", "citations", "step", "text", "finish_reason"]


def test_the_servers_semantic_ranker_sends_a_semantic_query(start_app, filled_search):
    env = {**search_env(filled_search, INDEX), **SEARCH_TIMEOUT}
    with start_app({**env, "AZURE_SEARCH_SEMANTIC_RANKER": "true"}) as app:
        lines = parse_lines(ask(app, "What does the basic plan cost?").content)
        sent = filled_search.stats()["last_search"]
        ask(app, "What does the basic plan cost?", semantic_ranker=False)
        turned_off = filled_search.stats()["last_search"]

    assert sent["queryType"] == "semantic"
    assert sent["semanticConfiguration"] == "default"
    assert sent["captions"] == "extractive"
    assert citations(lines)[0]["snippet"] == "The basic plan costs 10 euros a month."
    assert "queryType" not in turned_off  # a request may turn it off


def test_a_request_cannot_turn_on_a_semantic_ranker_the_server_has_off(rag_app, filled_search):
    ask(rag_app, "What does the basic plan cost?", semantic_ranker=True)

    assert "queryType" not in filled_search.stats()["last_search"]


def test_top_k_override_reaches_the_search(rag_app, filled_search):
    lines = parse_lines(ask(rag_app, "What does the basic plan cost?", top=1).content)

    assert filled_search.stats()["last_search"]["top"] == 1
    assert len(citations(lines)) == 1


def test_the_completion_route_carries_the_same_citations(rag_app):
    streamed = parse_lines(ask(rag_app, "How long do returns take?").content)
    completion = ask(rag_app, "How long do returns take?", route="/api/chat").json()

    assert completion["context"]["citations"] == citations(streamed)
    assert completion["message"]["content"] == answer_text(streamed)


def test_retrieval_off_answers_without_searching(rag_app, filled_search):
    filled_search.reset()

    lines = parse_lines(ask(rag_app, "Just chat", retrieval=False).content)

    assert filled_search.stats()["searches"] == 0
    assert citations(lines) == []


def test_health_names_azure_retrieval_and_no_key(rag_app, filled_search):
    response = httpx.get(rag_app.url + "/api/health")

    assert response.json()["retrieval"] == "azure"
    assert filled_search.api_key not in response.text


def test_each_stage_step_leaves_before_the_next_stage_is_done(
    start_app, filled_search, model_server
):
    model_server.reset()
    filled_search.reset()
    # The stand-ins hold the query (a follow-up's, which the model writes), the search and the
    # first word until this test has read the step before each: a step the app kept until the
    # next stage was done would never come.
    text = "What does the basic plan cost? #queryheld #searchheld #held"
    with (
        start_app(search_env(filled_search, INDEX)) as server,
        httpx.stream(
            "POST", server.url + "/api/chat/stream", json=question(text, "Hi.", "Hi!"), timeout=60
        ) as response,
    ):
        lines = live_lines(response)
        read_until_step(lines, "Question received")
        model_server.release()  # the query is written
        searching = read_until_step(lines, "Searching the knowledge base")[-1]
        filled_search.release()  # the search answers
        read_until_step(lines, "Found")
        read_until_step(lines, "Generating the answer")
        model_server.release()  # the model says its first word
        rest = list(lines)

    assert response.status_code == 200
    # The model's query, so the step did wait for it (a fallback would search the keywords).
    assert searching["context"]["step"]["detail"] == query_for(text)
    assert answer_text(rest)
    assert rest[-1]["context"]["finish_reason"] == "stop"
