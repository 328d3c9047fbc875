"""Azure AI Search: hybrid retrieval (full text plus a vector query from the model host's
embeddings), with the semantic ranker when it is on. Keyless through `azure.identity.aio`
unless AZURE_SEARCH_API_KEY is set. Imported only when the settings choose it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.search.documents.aio import SearchClient
from azure.search.documents.models import VectorizedQuery

from chat_api import errors
from chat_api.retrieval import Passage
from chat_api.settings import Settings

log = logging.getLogger(__name__)
# The SDK logs every request with its URL and headers at INFO: no internal addresses in our logs.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
logging.getLogger("azure.identity").setLevel(logging.WARNING)

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
# Neighbours the vector query brings to the fusion: more than `top`, so the text and vector
# rankings have room to agree (and the semantic ranker something to reorder).
VECTOR_NEIGHBOURS = 50
# The SDK's own retries stay short: the whole search is bounded by the search timeout.
CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.25,
    "retry_backoff_max": 2,
}

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


def search_credential(settings: Settings) -> tuple[Any, Callable[[], Awaitable[None]] | None]:
    """The key when one is set, else Microsoft Entra ID (the app's managed identity in Azure,
    the developer's az or azd login locally); with the close function it needs, if any."""
    if settings.azure_search_api_key:
        return AzureKeyCredential(settings.azure_search_api_key), None
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
        timeout_seconds: float = 10.0,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self._embed = embed
        self._semantic_ranker = semantic_ranker
        self._semantic_configuration = semantic_configuration
        self._timeout = timeout_seconds
        self._close_extra = close

    async def search(
        self, query: str, *, top: int, semantic_ranker: bool | None = None
    ) -> list[Passage]:
        vectors = await self._query_vectors(query)
        options = self.search_options(
            query,
            vectors[0] if vectors else None,
            top=top,
            semantic=self._semantic_ranker if semantic_ranker is None else semantic_ranker,
        )
        try:
            async with asyncio.timeout(self._timeout):
                results = await self.client.search(**options)
                found: list[Passage] = []
                async for document in results:
                    found.append(to_passage(document))
                    if len(found) >= top:
                        break
                return found
        except Exception as exc:
            raise errors.from_search_exception(exc) from None

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
        **CLIENT_OPTIONS,
    )
    return AzureSearchRetriever(
        client,
        embed=embed,
        semantic_ranker=settings.azure_search_semantic_ranker,
        semantic_configuration=settings.azure_search_semantic_configuration,
        timeout_seconds=settings.search_timeout_seconds,
        close=close,
    )
