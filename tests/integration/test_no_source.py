"""Honest answers over real HTTP: a question the documents say nothing about is declined without
calling the model at all (the stand-in model sees no call), with the local index built from a
site by `make ingest` and with the stand-in Azure AI Search service."""

from __future__ import annotations

import httpx
import pytest

from standins.processes import ROOT, run_ingest
from tests.conftest import search_env
from tests.integration.conftest import INDEX, SEARCH_TIMEOUT, ask
from tests.support.ndjson import answer_text, citations, parse_lines, question

SITE = ROOT / "tests" / "fixtures" / "sites" / "docusaurus"
OFF_TOPIC = "Explain photosynthesis"


def _chat_calls(model_server) -> int:
    """Chat calls the stand-in model received: search queries and answers."""
    return model_server.stats()["requests"]


def _embedded(model_server) -> int:
    """Texts the stand-in model embedded."""
    return model_server.stats()["embeddings"]


@pytest.fixture(scope="module")
def site_app(start_app, tmp_path_factory):
    """The app answering through the stand-in model from a local index of a built site."""
    index = tmp_path_factory.mktemp("site-index") / "site.sqlite"
    built = run_ingest(
        {},
        str(SITE),
        "--base-url",
        "https://rocket.example.org",
        "--local-index",
        str(index),
        "--no-progress",
    )
    assert built.returncode == 0, built.stderr
    with start_app({"CHAT_RETRIEVAL": "local", "CHAT_LOCAL_INDEX": str(index)}) as server:
        yield server


def test_citations_from_an_ingested_site_link_to_its_pages_sections(site_app):
    lines = parse_lines(ask(site_app, "How do I build the docker image?").content)

    assert citations(lines)[0]["url"] == "https://rocket.example.org/docs/deploy#build-the-image"
    assert "no_source" not in lines[-1]["context"]


def test_an_off_topic_question_is_declined_locally_without_a_model_call(site_app, model_server):
    before = _chat_calls(model_server), _embedded(model_server)

    lines = parse_lines(ask(site_app, OFF_TOPIC).content)

    assert lines[-1]["context"]["no_source"] is True
    assert answer_text(lines).startswith("I found nothing on this")
    assert (_chat_calls(model_server), _embedded(model_server)) == before


def test_an_off_topic_follow_up_is_declined_after_its_search_query_only(site_app, model_server):
    before = _chat_calls(model_server)
    follow_up = question(OFF_TOPIC, "How do I build the docker image?", "With docker build.")

    response = httpx.post(site_app.url + "/api/chat/stream", json=follow_up, timeout=20)

    lines = parse_lines(response.content)

    assert lines[-1]["context"]["no_source"] is True
    assert _chat_calls(model_server) == before + 1  # the query the model wrote, no answer


@pytest.fixture(scope="module")
def text_search_app(start_app, filled_search):
    """The app over the stand-in Azure AI Search with full-text search and the semantic ranker,
    no vectors (no embedding model)."""
    env = {**search_env(filled_search, INDEX), **SEARCH_TIMEOUT}
    settings = {"AZURE_SEARCH_SEMANTIC_RANKER": "true", "OPENAI_EMBEDDING_MODEL": "none"}
    with start_app({**env, **settings}) as server:
        yield server


def test_an_off_topic_question_is_declined_over_azure_search_without_a_model_call(
    text_search_app, model_server
):
    before = _chat_calls(model_server), _embedded(model_server)

    lines = parse_lines(ask(text_search_app, OFF_TOPIC).content)

    assert lines[-1]["context"]["no_source"] is True
    assert lines[-1]["context"]["finish_reason"] == "stop"
    assert (_chat_calls(model_server), _embedded(model_server)) == before


def test_over_hybrid_search_a_declined_question_costs_its_embedding_only(rag_app, model_server):
    # The vector half of a hybrid query needs the question's embedding before the search can
    # say that nothing is relevant: one embedding call, no chat call.
    before = _chat_calls(model_server), _embedded(model_server)

    lines = parse_lines(ask(rag_app, OFF_TOPIC).content)

    assert lines[-1]["context"]["no_source"] is True
    assert (_chat_calls(model_server), _embedded(model_server)) == (before[0], before[1] + 1)


def test_a_question_the_documents_answer_still_reaches_the_model(rag_app, model_server):
    before = _chat_calls(model_server)

    lines = parse_lines(ask(rag_app, "What does the basic plan cost?").content)

    assert "no_source" not in lines[-1]["context"]
    assert _chat_calls(model_server) == before + 1  # the answer; the question is its own query
