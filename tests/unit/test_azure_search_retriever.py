"""The Azure AI Search retriever with `SearchClient.search` mocked to return documents; the
query's embedding comes from the real OpenAI-compatible host over the mocked model."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.search.documents.aio import SearchClient
from azure.search.documents.models import QueryCaptionResult, VectorizedQuery

from chat_api.errors import ChatError
from chat_api.retrieval import Passage
from chat_api.retrieval.azure_search import SELECT, create_retriever
from chat_api.settings import Settings
from standins.model_answers import embed
from tests.support.search_mock import DOCUMENTS

SETTINGS = Settings(
    model_host="openai",
    openai_api_key="sk-test",
    retrieval="azure",
    azure_search_endpoint="https://search.example.net",
    azure_search_api_key="search-key",
    # Generous: a busy machine must not turn a slow first call into a timeout.
    search_timeout_seconds=10,
)


def _retriever(opened, settings: Settings = SETTINGS, *, embeddings: bool = True):
    host = opened.host(settings)
    return create_retriever(settings, host.embed if embeddings else None)


async def test_hybrid_search_sends_the_text_and_the_embedded_query_as_a_vector(
    opened, mock_model, fake_search
):
    retriever = _retriever(opened)

    await retriever.search("basic plan price", top=3)

    call = fake_search.calls[0]
    assert call["search_text"] == "basic plan price"
    assert call["top"] == 3
    assert call["select"] == SELECT
    (vector_query,) = call["vector_queries"]
    assert isinstance(vector_query, VectorizedQuery)
    assert vector_query.vector == embed("basic plan price")
    assert vector_query.fields == "embedding"
    assert vector_query.k_nearest_neighbors >= 3
    assert mock_model.embedding_requests[-1]["input"] == ["basic plan price"]
    assert "query_type" not in call
    await retriever.aclose()


async def test_results_become_passages_linked_by_url_or_source(opened, mock_model, fake_search):
    found = await _retriever(opened).search("plans", top=3)

    assert found == [
        Passage(
            id="a1",
            title="Pricing: Basic plan",
            source="kb/pricing.md#basic-plan",
            text="The basic plan costs 10 euros a month.",
            score=0.03,
        ),
        Passage(
            id="b2",
            title="Returns",
            source="kb/returns.md#returns",
            text="Returns are free within 30 days.",
            score=0.02,
            url="https://example.org/returns",
        ),
    ]


async def test_no_more_than_top_passages_come_back(opened, mock_model, fake_search):
    assert len(await _retriever(opened).search("plans", top=1)) == 1


async def test_the_configured_semantic_ranker_asks_for_its_configuration_and_captions(
    opened, mock_model, fake_search
):
    settings = _with(azure_search_semantic_ranker=True, azure_search_semantic_configuration="cfg")

    await _retriever(opened, settings).search("plans", top=3)

    call = fake_search.calls[0]
    assert call["query_type"] == "semantic"
    assert call["semantic_configuration_name"] == "cfg"
    assert call["query_caption"] == "extractive"


@pytest.mark.parametrize(
    ("configured", "requested", "semantic"), [(False, True, True), (True, False, False)]
)
async def test_a_request_turns_the_semantic_ranker_on_or_off(
    opened, mock_model, fake_search, configured, requested, semantic
):
    retriever = _retriever(opened, _with(azure_search_semantic_ranker=configured))

    await retriever.search("plans", top=3, semantic_ranker=requested)

    assert (fake_search.calls[0].get("query_type") == "semantic") is semantic


async def test_the_reranker_score_and_caption_are_kept(opened, mock_model, fake_search):
    fake_search.documents = [
        {
            **DOCUMENTS[0],
            "@search.reranker_score": 2.5,
            "@search.captions": [QueryCaptionResult({"text": "costs 10 euros", "highlights": ""})],
        }
    ]

    (found,) = await _retriever(opened).search("price", top=3, semantic_ranker=True)

    assert (found.score, found.snippet) == (2.5, "costs 10 euros")


async def test_without_embeddings_the_search_is_text_only(opened, mock_model, fake_search):
    await _retriever(opened, embeddings=False).search("plans", top=3)

    assert "vector_queries" not in fake_search.calls[0]
    assert mock_model.requests == []


def _http_error(status: int) -> HttpResponseError:
    error = HttpResponseError(message="detail with https://search.example.net and search-key")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    "error",
    [
        _http_error(403),
        _http_error(500),
        ResourceNotFoundError(message="index knowledge-base not found"),
        ClientAuthenticationError(message="no credential"),
        ServiceRequestError(message="connection refused to search.example.net"),
    ],
    ids=["403", "500", "missing index", "no credential", "unreachable"],
)
async def test_a_failed_search_is_search_unavailable_without_detail(
    opened, mock_model, fake_search, error, caplog
):
    fake_search.error = error

    with pytest.raises(ChatError) as caught, caplog.at_level(logging.WARNING):
        await _retriever(opened).search("plans", top=3)

    assert (caught.value.status, caught.value.code) == (503, "search_unavailable")
    assert "example.net" not in caught.value.message
    assert "example.net" not in caplog.text
    assert "search-key" not in caplog.text


async def test_a_search_that_hangs_is_cut_at_the_timeout(opened, mock_model, fake_search):
    fake_search.hang = True
    retriever = _retriever(opened, _with(search_timeout_seconds=0.5))

    with pytest.raises(ChatError) as caught:
        # The bound only stops a hang; the retriever's own 0.5 s timeout is what ends it.
        await asyncio.wait_for(retriever.search("plans", top=3), timeout=30)

    assert caught.value.code == "search_unavailable"
    assert "in time" in caught.value.message


async def test_an_embedding_failure_is_the_model_error(opened, mock_model, fake_search):
    mock_model.failures = [(429, {"retry-after": "30"})]

    with pytest.raises(ChatError) as caught:
        await _retriever(opened).search("plans", top=3)

    assert caught.value.status == 429
    assert fake_search.calls == []


async def test_a_model_without_that_embedding_model_leaves_a_text_search(
    opened, mock_model, fake_search
):
    mock_model.failures = [(404, {})]

    found = await _retriever(opened).search("plans", top=3)

    assert "vector_queries" not in fake_search.calls[0]
    assert len(found) == 2


async def test_an_api_key_is_sent_with_each_search(opened, mock_model):
    keys: list[str | None] = []

    async def search_service(request: web.Request) -> web.Response:
        keys.append(request.headers.get("api-key"))
        return web.json_response({"value": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", search_service)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    endpoint = str(server.make_url("")).rstrip("/")
    retriever = _retriever(opened, _with(azure_search_endpoint=endpoint))
    try:
        await retriever.search("plans", top=3)
    finally:
        await retriever.aclose()
        await server.close()

    assert keys == ["search-key"]


async def test_keyless_search_asks_the_managed_identity_for_a_search_token(
    opened, mock_model, monkeypatch
):
    import azure.identity.aio

    created: list[dict[str, Any]] = []
    asked: list[tuple[str, ...]] = []

    class Credential:
        def __init__(self, **kwargs: Any) -> None:
            created.append(kwargs)

        async def get_token(self, *scopes: str, **kwargs: Any):
            asked.append(scopes)
            raise ClientAuthenticationError("no token in this test")

        async def close(self) -> None:
            return None

    monkeypatch.setattr(azure.identity.aio, "DefaultAzureCredential", Credential)

    retriever = _retriever(
        opened,
        _with(
            azure_search_api_key="",
            azure_client_id="identity-client-id",
        ),
    )

    with pytest.raises(ChatError):
        await retriever.search("plans", top=3)
    await retriever.aclose()

    assert created == [{"managed_identity_client_id": "identity-client-id"}]
    assert asked == [("https://search.azure.com/.default",)]


def _with(**changes: Any) -> Settings:
    return Settings.model_validate({**SETTINGS.model_dump(), **changes})


def _ranker_refused() -> HttpResponseError:
    error = HttpResponseError(message="Semantic search is not enabled for this service.")
    error.status_code = 400
    return error


async def test_a_refused_ranker_is_asked_for_again_only_after_the_pause(opened, fake_search):
    from chat_api.retrieval import azure_search

    now = [0.0]
    client = SearchClient(SETTINGS.azure_search_endpoint, "kb", AzureKeyCredential("search-key"))
    retriever = azure_search.AzureSearchRetriever(
        client, embed=None, semantic_ranker=True, clock=lambda: now[0]
    )
    fake_search.semantic_error = _ranker_refused()

    first = await retriever.search("plans", top=3)
    now[0] = azure_search.RANKER_PAUSE_SECONDS - 1
    during = await retriever.search("plans", top=3)
    now[0] = azure_search.RANKER_PAUSE_SECONDS + 1
    fake_search.semantic_error = None
    after = await retriever.search("plans", top=3)

    asked = [call.get("query_type") for call in fake_search.calls]
    assert asked == ["semantic", None, None, "semantic"]
    assert first.note == during.note == azure_search.WITHOUT_RANKER_NOTE
    assert after.note == ""
    assert len(first) == len(after) == 2


async def test_a_search_failure_that_is_not_about_the_ranker_still_fails(opened, fake_search):
    error = HttpResponseError(message="Service unavailable.")
    error.status_code = 503
    fake_search.semantic_error = error
    retriever = _retriever(opened, _with(azure_search_semantic_ranker=True))

    with pytest.raises(ChatError) as caught:
        await retriever.search("plans", top=3)

    assert caught.value.code == "search_unavailable"
    assert len(fake_search.calls) == 1


async def test_the_visitors_page_comes_first_among_more_candidates(opened, mock_model, fake_search):
    found = await _retriever(opened).search("plans", top=1, page="https://EXAMPLE.org/returns/#x")

    assert [passage.id for passage in found] == ["b2"]  # ranked second, moved ahead
    assert fake_search.calls[0]["top"] == 3  # three candidates for one passage


async def test_without_a_page_the_search_order_stands(opened, mock_model, fake_search):
    found = await _retriever(opened).search("plans", top=2)

    assert [passage.id for passage in found] == ["a1", "b2"]
    assert fake_search.calls[0]["top"] == 2


# --- Relevant enough to answer from ---------------------------------------------------------

# Time enough for the first search's set-up on a busy machine: these tests are not about time.
UNHURRIED = _with(search_timeout_seconds=30.0)


@pytest.mark.parametrize(("score", "relevant"), [(1.4, False), (1.5, True), (3.2, True)])
async def test_with_the_ranker_a_passage_is_relevant_from_the_minimum_reranker_score(
    opened, mock_model, fake_search, score, relevant
):
    fake_search.documents = [{**DOCUMENTS[0], "@search.reranker_score": score}]
    settings = _with(search_timeout_seconds=30.0, azure_search_semantic_ranker=True)

    (passage,) = await _retriever(opened, settings).search("basic plan", top=3)

    assert passage.relevant is relevant


@pytest.mark.parametrize(("score", "relevant"), [(1 / 61, False), (1 / 62 + 1 / 80, True)])
async def test_without_the_ranker_a_hybrid_passage_is_relevant_when_both_rankings_found_it(
    opened, mock_model, fake_search, score, relevant
):
    fake_search.documents = [{**DOCUMENTS[0], "@search.score": score}]

    (passage,) = await _retriever(opened, UNHURRIED).search("basic plan", top=3)

    assert passage.relevant is relevant


async def test_a_text_only_passage_is_relevant_whatever_its_score(opened, mock_model, fake_search):
    fake_search.documents = [{**DOCUMENTS[0], "@search.score": 0.001}]

    (passage,) = await _retriever(opened, UNHURRIED, embeddings=False).search("basic plan", top=3)

    assert passage.relevant is True
