"""Azure AI Search: hybrid retrieval (full text plus a vector query from the model host's
embeddings), with the semantic ranker when it is on. Keyless through `azure.identity.aio`
unless AZURE_SEARCH_API_KEY is set. Imported only when the settings choose it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from azure.core import exceptions as azure_errors
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents.aio import SearchClient
from azure.search.documents.models import VectorizedQuery

from chat_api import errors, upstream
from chat_api.retrieval import Embed, Found, Passage, candidates, page_first
from chat_api.settings import Settings, is_set

log = logging.getLogger(__name__)

# The index's fields, as `make ingest` creates them (chat_api/ingest/search_index.py).
ID, TITLE, CONTENT, SOURCE, URL, DOCUMENT, EMBEDDING = (
    "id",
    "title",
    "content",
    "source",
    "url",
    "document",
    "embedding",
)
SELECT = [ID, TITLE, CONTENT, SOURCE, URL]
# Reciprocal rank fusion (k = 60, the service's constant) gives a result that only one of a
# hybrid query's rankings found at most 1/61; one both found scores more.
ONE_RANKING_BEST = 1 / 61
# Neighbours the vector query brings to the fusion: more than `top`, so the text and vector
# rankings have room to agree (and the semantic ranker something to reorder).
VECTOR_NEIGHBOURS = 50
# The SDK's own retries stay short: the whole search is bounded by the search timeout.
CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.25,
    "retry_backoff_max": 2,
}


# What the service answers when it throttles: 429, and 503 when it is overloaded as a whole.
THROTTLED_STATUSES = frozenset({429, 503})


def watch_throttling(response: Any) -> None:
    """Every HTTP response the search client receives, retries included (the SDK retries a 503
    by itself): a throttled one is reported to telemetry, as the model's 429s are."""
    status = response.http_response.status_code
    if status in THROTTLED_STATUSES:
        upstream.upstream_throttled("search", status)


# The Free plan of the semantic ranker allows 1,000 queries a month, and a service may have the
# ranker disabled: once it is refused, search without it for this long, then ask again.
RANKER_PAUSE_SECONDS = 3600.0
RANKER_REFUSED_STATUSES = frozenset({400, 403, 429})
WITHOUT_RANKER_NOTE = (
    "The search service refused the semantic ranker (its plan, or the month's free queries "
    "used up), so the results are ranked without it."
)


def search_credential(settings: Settings) -> tuple[Any, Callable[[], Awaitable[None]] | None]:
    """The key when one is set, else Microsoft Entra ID (the app's managed identity in Azure,
    the developer's az or azd login locally); with the close function it needs, if any."""
    if is_set(settings.azure_search_api_key):
        return AzureKeyCredential(settings.azure_search_api_key.get_secret_value()), None
    from chat_api.credentials import default_credential

    credential = default_credential(settings.azure_client_id, "Azure AI Search")
    return credential, credential.close


class AzureSearchRetriever:
    name = "azure"

    def __init__(
        self,
        client: SearchClient,
        *,
        embed: Embed | None,
        semantic_ranker: bool = False,
        semantic_configuration: str = "default",
        min_reranker_score: float = 1.5,
        timeout_seconds: float = 10.0,
        close: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._embed = embed
        self._semantic_ranker = semantic_ranker
        self._semantic_configuration = semantic_configuration
        self._min_reranker_score = min_reranker_score
        self._timeout = timeout_seconds
        self._close_extra = close
        self._clock = clock
        self._ranker_refused_until = 0.0

    async def search(
        self, query: str, *, top: int, semantic_ranker: bool | None = None, page: str = ""
    ) -> Found:
        found = await self._search(query, candidates(top, page), semantic_ranker)
        return page_first(found, page, top)

    async def _search(self, query: str, top: int, semantic_ranker: bool | None) -> Found:
        wanted = self._semantic_ranker if semantic_ranker is None else semantic_ranker
        try:
            # The query's embedding is part of the search: it counts against the same timeout.
            async with asyncio.timeout(self._timeout):
                vectors = await self._query_vectors(query)
                vector = vectors[0] if vectors else None
                if wanted and self._clock() < self._ranker_refused_until:
                    return await self._run(query, vector, top, False, WITHOUT_RANKER_NOTE)
                try:
                    return await self._run(query, vector, top, wanted)
                except HttpResponseError as exc:
                    if not (wanted and _refuses_the_ranker(exc)):
                        raise
                    self._ranker_refused_until = self._clock() + RANKER_PAUSE_SECONDS
                    log.warning(
                        "the search service refused the semantic ranker (status %s); searching "
                        "without it for %.0f minutes (docs/deploy.md explains the ranker's plans)",
                        exc.status_code,
                        RANKER_PAUSE_SECONDS / 60,
                    )
                    return await self._run(query, vector, top, False, WITHOUT_RANKER_NOTE)
        except Exception as exc:
            raise search_error(exc) from None

    async def _run(
        self, query: str, vector: list[float] | None, top: int, semantic: bool, note: str = ""
    ) -> Found:
        options = self.search_options(query, vector, top=top, semantic=semantic)
        results = await self.client.search(**options)
        found = Found(note=note)
        async for document in results:
            relevant = self.is_relevant(document, semantic=semantic, hybrid=bool(vector))
            found.append(replace(to_passage(document), relevant=relevant))
            if len(found) >= top:
                break
        return found

    async def _query_vectors(self, query: str) -> list[list[float]]:
        """The query's embedding. A model service that is down or throttled fails the answer
        with its own error; one that has no such embedding model (a 4xx) leaves a text search."""
        if self._embed is None:
            return []
        try:
            return await self._embed([query])
        except errors.ChatError as error:
            if error.code != errors.Code.MODEL_ERROR:
                raise
            log.warning("query embedding failed; searching by text only")
            return []

    def is_relevant(self, document: dict[str, Any], *, semantic: bool, hybrid: bool) -> bool:
        """Close enough to answer from: a semantic ranker's score at least the minimum; without
        the ranker, a hybrid result that both rankings found (its fused score is above what one
        ranking alone can give); a text-only result, always."""
        reranker_score = document.get("@search.reranker_score")
        if semantic and reranker_score is not None:
            return float(reranker_score) >= self._min_reranker_score
        if hybrid:
            return float(document.get("@search.score") or 0.0) > ONE_RANKING_BEST
        return True

    def search_options(
        self, query: str, vector: list[float] | None, *, top: int, semantic: bool
    ) -> dict[str, Any]:
        """The arguments of `SearchClient.search`: text, the vector query, the ranker."""
        options: dict[str, Any] = {"search_text": query, "top": top, "select": SELECT}
        if vector:
            options["vector_queries"] = [
                VectorizedQuery(
                    vector=vector,
                    k_nearest_neighbors=max(top, VECTOR_NEIGHBOURS),
                    fields=EMBEDDING,
                )
            ]
        if semantic:
            options["query_type"] = "semantic"
            options["semantic_configuration_name"] = self._semantic_configuration
            options["query_caption"] = "extractive"
        return options

    async def aclose(self) -> None:
        await self.client.close()
        if self._close_extra is not None:
            await self._close_extra()


def _refuses_the_ranker(exc: HttpResponseError) -> bool:
    """A refusal of the semantic query itself (no ranker on this plan, the free queries used up,
    an index without the semantic configuration), not of the search as a whole."""
    text = f"{exc.message or ''} {getattr(exc.error, 'code', '') or ''}".lower()
    return exc.status_code in RANKER_REFUSED_STATUSES and "semantic" in text


def search_error(exc: BaseException) -> errors.ChatError:
    """Map a failed search (or the search client's credential) to what the client may be told,
    logging the reason without addresses, keys or the query."""
    if isinstance(exc, errors.ChatError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        log.warning("search did not answer within the time allowed")
        return errors.search_timeout()
    if isinstance(exc, azure_errors.ResourceNotFoundError):
        log.warning("search index not found (fill it with make ingest)")
    elif isinstance(exc, azure_errors.ClientAuthenticationError):
        status = getattr(exc, "status_code", None)
        if status is not None:  # without one, no token: chat_api/credentials.py logged it
            log.warning("search refused the app's credentials (status %s)", status)
    elif isinstance(exc, azure_errors.HttpResponseError):
        log.warning("search failed with status %s", exc.status_code)
    elif isinstance(exc, azure_errors.AzureError):
        log.warning("search could not be reached: %s", type(exc).__name__)
    else:
        log.error("unexpected failure while searching: %s", type(exc).__name__, exc_info=exc)
    return errors.search_unavailable()


def to_passage(document: dict[str, Any]) -> Passage:
    """One search result as a passage; the caption, when the ranker made one, is its snippet."""
    captions = document.get("@search.captions") or []
    caption = next((c.text for c in captions if getattr(c, "text", None)), "")
    score = document.get("@search.reranker_score") or document.get("@search.score") or 0.0
    source = document.get(SOURCE) or ""
    return Passage(
        id=str(document.get(ID, "")),
        title=document.get(TITLE) or source or "Untitled",
        source=source,
        text=document.get(CONTENT) or "",
        score=float(score),
        url=document.get(URL) or "",
        snippet=caption,
    )


def create_retriever(settings: Settings, embed: Embed | None) -> AzureSearchRetriever:
    credential, close = search_credential(settings)
    client = SearchClient(
        settings.azure_search_endpoint,
        settings.azure_search_index,
        credential,
        connection_timeout=min(10.0, settings.search_timeout_seconds),
        read_timeout=settings.search_timeout_seconds,
        raw_response_hook=watch_throttling,
        **CLIENT_OPTIONS,
    )
    return AzureSearchRetriever(
        client,
        embed=embed,
        semantic_ranker=settings.azure_search_semantic_ranker,
        semantic_configuration=settings.azure_search_semantic_configuration,
        min_reranker_score=settings.min_reranker_score,
        timeout_seconds=settings.search_timeout_seconds,
        close=close,
    )
