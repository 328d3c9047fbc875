"""Honest answers over real HTTP: a question the documents say nothing about is declined without
the model writing an answer (the stand-in model sees no answer call), with the local index built
from a site by `make ingest` and with the stand-in Azure AI Search service."""

from __future__ import annotations

import pytest

from standins.processes import ROOT, run_ingest
from tests.integration.conftest import ask
from tests.support.ndjson import answer_text, citations, parse_lines

SITE = ROOT / "tests" / "fixtures" / "sites" / "docusaurus"
OFF_TOPIC = "Explain photosynthesis"


def _answers_written(model_server) -> int:
    """Answer calls the stand-in model received (its chat calls, less the search queries)."""
    stats = model_server.stats()
    return stats["requests"] - stats["queries"]


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


def test_an_off_topic_question_is_declined_locally_without_an_answer_call(site_app, model_server):
    before = _answers_written(model_server)

    lines = parse_lines(ask(site_app, OFF_TOPIC).content)

    assert lines[-1]["context"]["no_source"] is True
    assert answer_text(lines).startswith("I found nothing on this")
    assert _answers_written(model_server) == before


def test_an_off_topic_question_is_declined_over_azure_search_without_an_answer_call(
    rag_app, model_server
):
    before = _answers_written(model_server)

    lines = parse_lines(ask(rag_app, OFF_TOPIC).content)

    assert lines[-1]["context"]["no_source"] is True
    assert lines[-1]["context"]["finish_reason"] == "stop"
    assert _answers_written(model_server) == before


def test_a_question_the_documents_answer_still_reaches_the_model(rag_app, model_server):
    before = _answers_written(model_server)

    lines = parse_lines(ask(rag_app, "What does the basic plan cost?").content)

    assert "no_source" not in lines[-1]["context"]
    assert _answers_written(model_server) == before + 1
