"""Grounded answers over real HTTP: the app as a process, the stand-in model (query, embedding,
answer) and the stand-in Azure AI Search service, filled by the ingestion command."""

from __future__ import annotations

import httpx
import pytest

from chat_api.pipeline import RANKER_OFF_STEP
from tests.conftest import model_env, search_env
from tests.support.ndjson import (
    answer_text,
    citations,
    failure,
    live_lines,
    parse_lines,
    question,
    read_until_step,
    steps,
)
from tests.support.processes import run_ingest
from tests.support.standin_model import embed, query_for

INDEX = "grounded-answers"
KNOWLEDGE = {
    "pricing.md": (
        "# Pricing\n\n## Basic plan\n\nThe basic plan costs 10 euros a month. It includes email "
        "support.\n\n## Pro plan\n\nThe pro plan costs 30 euros a month and adds phone support.\n"
    ),
    "returns.md": "# Returns\n\nReturns are free within 30 days of delivery.\n",
    "shipping.txt": "Parcels ship within two working days. Express delivery costs 5 euros.",
}
# Short, so a search that hangs fails quickly; long enough for any search a busy machine slows.
SEARCH_TIMEOUT = {"CHAT_SEARCH_TIMEOUT_SECONDS": "3"}


@pytest.fixture(scope="module")
def filled_search(search_server, model_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("grounded") / "kb"
    folder.mkdir()
    for name, text in KNOWLEDGE.items():
        (folder / name).write_text(text, encoding="utf-8")
    result = run_ingest(
        {**model_env(model_server), **search_env(search_server, INDEX)},
        str(folder),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    return search_server


@pytest.fixture(scope="module")
def rag_app(start_app, filled_search):
    with start_app({**search_env(filled_search, INDEX), **SEARCH_TIMEOUT}) as server:
        yield server


def _ask(app, text: str, route: str = "/api/chat/stream", **overrides) -> httpx.Response:
    body = question(text)
    body["context"]["overrides"].update(overrides)
    return httpx.post(app.url + route, json=body, timeout=20)


def test_the_sdk_sends_the_model_query_as_text_and_its_embedding_as_a_vector(
    rag_app, filled_search
):
    _ask(rag_app, "What does the basic plan cost?")

    stats = filled_search.stats()
    sent = stats["last_search"]
    query = query_for("What does the basic plan cost?")
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


def test_the_query_comes_from_a_non_streamed_model_call(rag_app, model_server):
    _ask(rag_app, "What does the basic plan cost?")

    asked = model_server.stats()["last_query_request"]
    assert asked["stream"] is False
    assert "search query" in asked["messages"][0]["content"]
    assert asked["messages"][-1] == {"role": "user", "content": "What does the basic plan cost?"}


def test_found_documents_reach_the_model_and_come_back_as_citations(rag_app, model_server):
    lines = parse_lines(_ask(rag_app, "What does the basic plan cost?").content)

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
    lines = parse_lines(_ask(rag_app, "What does the basic plan cost?").content)

    shown = steps(lines)
    assert [s["title"] for s in shown] == [
        "Question received",
        "Searching the knowledge base",
        "Found 3 sources",
        "Generating the answer",
    ]
    assert shown[1]["detail"] == query_for("What does the basic plan cost?")
    assert shown[2]["detail"].startswith("Pricing: Basic plan")
    assert all(isinstance(s["elapsed_ms"], int) for s in shown)


def test_the_line_order_is_steps_citations_generating_text_end(rag_app):
    lines = parse_lines(_ask(rag_app, "What does the basic plan cost?").content)

    kinds = []
    for line in lines:
        context = line.get("context", {})
        kind = next(iter(context), "text") if context else "text"
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    assert kinds == ["step", "citations", "step", "text", "finish_reason"]


def test_the_semantic_ranker_override_sends_a_semantic_query(rag_app, filled_search):
    lines = parse_lines(
        _ask(rag_app, "What does the basic plan cost?", semantic_ranker=True).content
    )

    sent = filled_search.stats()["last_search"]
    assert sent["queryType"] == "semantic"
    assert sent["semanticConfiguration"] == "default"
    assert sent["captions"] == "extractive"
    assert citations(lines)[0]["snippet"] == "The basic plan costs 10 euros a month."


def test_top_k_override_reaches_the_search(rag_app, filled_search):
    lines = parse_lines(_ask(rag_app, "What does the basic plan cost?", top=1).content)

    assert filled_search.stats()["last_search"]["top"] == 1
    assert len(citations(lines)) == 1


def test_the_completion_route_carries_the_same_citations(rag_app):
    streamed = parse_lines(_ask(rag_app, "How long do returns take?").content)
    completion = _ask(rag_app, "How long do returns take?", route="/api/chat").json()

    assert completion["context"]["citations"] == citations(streamed)
    assert completion["message"]["content"] == answer_text(streamed)


def test_retrieval_off_answers_without_searching(rag_app, filled_search):
    filled_search.reset()

    lines = parse_lines(_ask(rag_app, "Just chat", retrieval=False).content)

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
    # The stand-ins hold the query, the search and the first word until this test has read the
    # step before each: a step the app kept until the next stage was done would never come.
    text = "Prices? #queryheld #searchheld #held"
    with (
        start_app(search_env(filled_search, INDEX)) as server,
        httpx.stream(
            "POST", server.url + "/api/chat/stream", json=question(text), timeout=60
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


# ---- Search failures ------------------------------------------------------------------------

SEARCH_UNAVAILABLE = 503


# Before the response began (within its opening window) a failed search is a 503; after it, the
# stream's last line says the same. Which one depends on how quickly the search fails.
@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_a_failing_search_service_gives_503_search_unavailable(rag_app, route):
    response = _ask(rag_app, "Prices? #search500", route=route)

    error = failure(response)
    assert error["code"] == "search_unavailable"
    assert error["status"] in ((200, SEARCH_UNAVAILABLE) if "stream" in route else (503,))


def test_a_search_that_never_answers_gives_503_within_the_timeout(rag_app):
    # The stand-in search holds the request for an hour; the answer comes within the client's
    # 20 s (generous for a busy machine), so the app's 3 s search timeout cut it.
    response = _ask(rag_app, "Prices? #searchhang")

    assert "in time" in failure(response)["message"]


def test_a_rejected_search_key_gives_503(start_app, filled_search):
    env = {**search_env(filled_search, INDEX), "AZURE_SEARCH_API_KEY": "wrong-search-key"}
    with start_app(env) as server:
        response = _ask(server, "Prices?")

    assert failure(response)["code"] == "search_unavailable"
    assert "wrong-search-key" not in response.text


def test_a_missing_index_gives_503(start_app, filled_search):
    with start_app(search_env(filled_search, "no-such-index")) as server:
        response = _ask(server, "Prices?", route="/api/chat")

    assert response.status_code == SEARCH_UNAVAILABLE
    assert response.json()["error"]["code"] == "search_unavailable"


def test_with_continue_the_answer_comes_without_sources_and_a_step_says_so(
    start_app, filled_search
):
    env = {**search_env(filled_search, INDEX), "CHAT_SEARCH_FAILURE": "continue", **SEARCH_TIMEOUT}
    with start_app(env) as server:
        failing = parse_lines(_ask(server, "Prices? #search500").content)
        hanging = parse_lines(_ask(server, "Prices? #searchhang").content)

    for lines in (failing, hanging):
        assert "Search unavailable" in [s["title"] for s in steps(lines)]
        assert citations(lines) == []
        assert answer_text(lines)
        assert lines[-1]["context"]["finish_reason"] == "stop"


def test_search_failures_leave_no_address_or_key_in_answers_or_the_log(rag_app, filled_search):
    response = _ask(rag_app, "Prices? #search500")

    assert "127.0.0.1" not in response.text
    log = rag_app.log_once_it_has("search failed with status 500")
    log = log.split("Chat app ready", 1)[1].split("\n", 1)[1]
    assert "search failed with status 500" in log
    assert "127.0.0.1" not in log
    assert filled_search.api_key not in log
    assert "Prices" not in log


def test_a_refused_semantic_ranker_is_left_out_remembered_and_reported(start_app, filled_search):
    with start_app({**search_env(filled_search, INDEX), **SEARCH_TIMEOUT}) as app:
        filled_search.reset()
        first = _ask(app, "What does the basic plan cost? #semanticquota", semantic_ranker=True)
        tried = [s.get("queryType") for s in filled_search.stats()["searches_sent"]]
        filled_search.reset()
        second = _ask(app, "How much is the pro plan?", semantic_ranker=True)
        later = [s.get("queryType") for s in filled_search.stats()["searches_sent"]]
        log = app.log()

    assert first.status_code == 200
    assert tried == ["semantic", None]  # refused, then asked again without the ranker
    assert RANKER_OFF_STEP in [s["title"] for s in steps(parse_lines(first.content))]
    assert citations(parse_lines(first.content))
    assert later == [None]  # remembered: the ranker is not asked for again for a while
    assert RANKER_OFF_STEP in [s["title"] for s in steps(parse_lines(second.content))]
    assert log.count("refused the semantic ranker") == 1


def test_the_query_embedding_counts_against_the_search_timeout(start_app, filled_search):
    env = {**search_env(filled_search, INDEX), **SEARCH_TIMEOUT, "CHAT_MODEL_TIMEOUT_SECONDS": "30"}
    with start_app(env) as app:
        response = _ask(app, "What does the basic plan cost? #embedhang", route="/api/chat")

    # The search's timeout (1 s) cut it: the model's own (30 s) would have been a model_timeout.
    assert response.status_code == 503
    error = response.json()["error"]
    assert error == {
        "code": "search_unavailable",
        "message": "The search service did not answer in time. Try again soon.",
        "ref": error["ref"],
    }
