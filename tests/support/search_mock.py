"""`SearchClient.search` mocked: what the SDK's async search returns (an async iterator of result
dicts with their `@search.*` entries), the arguments recorded, failures and hangs on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from azure.search.documents.aio import SearchClient

DOCUMENTS = [
    {
        "id": "a1",
        "title": "Pricing: Basic plan",
        "content": "The basic plan costs 10 euros a month.",
        "source": "kb/pricing.md#basic-plan",
        "url": "",
        "@search.score": 0.03,
        "@search.reranker_score": None,
        "@search.captions": None,
    },
    {
        "id": "b2",
        "title": "Returns",
        "content": "Returns are free within 30 days.",
        "source": "kb/returns.md#returns",
        "url": "https://example.org/returns",
        "@search.score": 0.02,
        "@search.reranker_score": None,
        "@search.captions": None,
    },
]


class FakeSearch:
    """Stands in for `SearchClient.search`: records its arguments, returns the documents."""

    def __init__(self, documents: list[dict[str, Any]] | None = None) -> None:
        self.documents = DOCUMENTS if documents is None else documents
        self.calls: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        # Raised for semantic queries only, as a service does that refuses the ranker.
        self.semantic_error: BaseException | None = None
        self.hang = False

    async def __call__(self, client: SearchClient, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(kwargs)
        if self.hang:
            await asyncio.sleep(3600)
        if self.error is not None:
            raise self.error
        if self.semantic_error is not None and kwargs.get("query_type") == "semantic":
            raise self.semantic_error

        async def results() -> AsyncIterator[dict[str, Any]]:
            for document in self.documents:
                yield document

        return results()
