"""The Azure AI Search side of ingestion: the index definition (fields, an HNSW vector profile,
a semantic configuration) and the target that creates or updates it and fills it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.search.documents.aio import SearchClient
from azure.search.documents.indexes.aio import SearchIndexClient
from azure.search.documents.indexes.models import (
    HnswAlgorithmConfiguration,
    HnswParameters,
    SearchField,
    SearchIndex,
    SemanticConfiguration,
    SemanticField,
    SemanticPrioritizedFields,
    SemanticSearch,
    VectorSearch,
    VectorSearchProfile,
)

from chat_api.ingest import Embed, IngestError
from chat_api.retrieval import Passage
from chat_api.retrieval.azure_search import (
    CONTENT,
    DOCUMENT,
    EMBEDDING,
    ID,
    SOURCE,
    TITLE,
    URL,
    search_credential,
)
from chat_api.settings import Settings

VECTOR_PROFILE = "vector-profile"
HNSW = "hnsw"
# Listing what the index holds: the service pages by 1,000 and can skip at most 100,000.
LIST_TOP = 100_000


def index_definition(name: str, dimensions: int, semantic_configuration: str) -> SearchIndex:
    return SearchIndex(
        name=name,
        fields=[
            SearchField(name=ID, type="Edm.String", key=True, filterable=True),
            SearchField(name=TITLE, type="Edm.String", searchable=True),
            SearchField(name=CONTENT, type="Edm.String", searchable=True),
            SearchField(name=SOURCE, type="Edm.String", filterable=True),
            SearchField(name=URL, type="Edm.String"),
            SearchField(name=DOCUMENT, type="Edm.String", filterable=True, facetable=True),
            SearchField(
                name=EMBEDDING,
                type="Collection(Edm.Single)",
                searchable=True,
                retrievable=False,
                vector_search_dimensions=dimensions,
                vector_search_profile_name=VECTOR_PROFILE,
            ),
        ],
        vector_search=VectorSearch(
            algorithms=[
                HnswAlgorithmConfiguration(name=HNSW, parameters=HnswParameters(metric="cosine"))
            ],
            profiles=[VectorSearchProfile(name=VECTOR_PROFILE, algorithm_configuration_name=HNSW)],
        ),
        semantic_search=SemanticSearch(
            default_configuration_name=semantic_configuration,
            configurations=[
                SemanticConfiguration(
                    name=semantic_configuration,
                    prioritized_fields=SemanticPrioritizedFields(
                        title_field=SemanticField(field_name=TITLE),
                        content_fields=[SemanticField(field_name=CONTENT)],
                    ),
                )
            ],
        ),
    )


def to_document(passage: Passage, vector: list[float] | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        ID: passage.id,
        TITLE: passage.title,
        CONTENT: passage.text,
        SOURCE: passage.source,
        URL: passage.url,
        DOCUMENT: passage.document,
    }
    if vector is not None:
        document[EMBEDDING] = vector
    return document


class AzureSearchTarget:
    wants_vectors = True

    def __init__(
        self,
        settings: Settings,
        *,
        embed: Embed | None,
        credential: Any = None,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if credential is None:
            credential, close = search_credential(settings)
        self.name = settings.azure_search_index
        self.description = f"Azure AI Search index {self.name}"
        self.semantic_configuration = settings.azure_search_semantic_configuration
        self.embed = embed
        self.indexes = SearchIndexClient(settings.azure_search_endpoint, credential)
        self.documents = SearchClient(settings.azure_search_endpoint, self.name, credential)
        self._close_credential = close
        self._dimensions: int | None = None

    async def existing(self) -> dict[str, str]:
        try:
            index = await self.indexes.get_index(self.name)
        except ResourceNotFoundError:
            return {}
        field = next((f for f in index.fields if f.name == EMBEDDING), None)
        self._dimensions = field.vector_search_dimensions if field is not None else None
        found: dict[str, str] = {}
        results = await self.documents.search(search_text="*", select=[ID, DOCUMENT], top=LIST_TOP)
        async for document in results:
            found[document[ID]] = document.get(DOCUMENT) or ""
        return found

    async def prepare(self, dimensions: int | None) -> None:
        dimensions = dimensions or self._dimensions
        if dimensions is None:
            if self.embed is None:
                raise IngestError("creating the index needs an embedding model")
            dimensions = len((await self.embed(["dimensions"]))[0])
        await self.indexes.create_or_update_index(
            index_definition(self.name, dimensions, self.semantic_configuration)
        )

    async def upload(self, passages: list[Passage], vectors: list[list[float]] | None) -> None:
        rows = vectors if vectors is not None else [None] * len(passages)
        documents = [to_document(p, v) for p, v in zip(passages, rows, strict=True)]
        results = await self.documents.upload_documents(documents)
        failed = [r for r in results if not r.succeeded]
        if failed:
            raise IngestError(
                f"the index refused {len(failed)} of {len(documents)} chunks: "
                f"{failed[0].error_message or failed[0].status_code}"
            )

    async def delete(self, ids: list[str]) -> None:
        await self.documents.delete_documents([{ID: key} for key in ids])

    async def aclose(self) -> None:
        await self.documents.close()
        await self.indexes.close()
        if self._close_credential is not None:
            await self._close_credential()
