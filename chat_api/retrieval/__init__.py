"""Retrieval backends behind one small interface, chosen at start-up from the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from chat_api.settings import Settings, SettingsError

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of a document that may ground an answer."""

    id: str
    title: str
    source: str
    text: str
    score: float = 0.0
    # A link to the document, when the index has one; citations fall back to `source`.
    url: str = ""
    # The part of `text` that best matches the query (a search caption), when there is one.
    snippet: str = ""
    # Close enough to the query to answer from, by the backend's rule (docs/ingestion.md).
    relevant: bool = True

    @property
    def document(self) -> str:
        """The file the passage was cut from: `source` without its anchor."""
        return self.source.split("#", 1)[0]


class Found(list[Passage]):
    """The passages a search found, with a note for the reader when the search had to do
    without something it was asked for (the semantic ranker, say)."""

    def __init__(self, passages: list[Passage] | None = None, note: str = "") -> None:
        super().__init__(passages or [])
        self.note = note


class Retriever(Protocol):
    name: str

    async def search(
        self, query: str, *, top: int, semantic_ranker: bool | None = None, page: str = ""
    ) -> list[Passage]:
        """The `top` passages that best match the query; those of `page` (the address of the
        page the question was asked on) first, when they match. `semantic_ranker` asks for (or
        turns off) semantic reranking where the backend has it; None keeps its configured
        default. Raises ChatError `search_unavailable` when the search fails."""
        ...

    async def aclose(self) -> None: ...


# A page's passages are looked for among this many times `top` of the best matches.
PAGE_CANDIDATES = 3


def candidates(top: int, page: str) -> int:
    """How many matches a search asks for: more when some may be moved ahead for the page."""
    return top * PAGE_CANDIDATES if page else top


def page_first(found: list[Passage], page: str, top: int) -> Found:
    """The best `top` of `found` (best first), the passages of `page` ahead of the others."""
    note = found.note if isinstance(found, Found) else ""
    if not page:
        return Found(found[:top], note)
    wanted = page_address(page)
    ahead = [p for p in found if page_address(p.url) == wanted]
    rest = [p for p in found if page_address(p.url) != wanted]
    return Found((ahead + rest)[:top], note)


def page_address(url: str) -> str:
    """A page's address as compared: no fragment or query, host in lower case, no trailing
    slash or `index.html`; "" when `url` is not a web address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    path = parts.path.removesuffix("index.html").rstrip("/")
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def create_retriever(settings: Settings, embed: Embed | None) -> Retriever | None:
    """The retriever the settings name (None: retrieval off); only its module is imported.
    `embed` turns the query into a vector for Azure AI Search's vector query, when there is a
    model to embed with."""
    if settings.retrieval == "azure":
        from chat_api.retrieval import azure_search

        return azure_search.create_retriever(settings, embed)
    if settings.retrieval != "local":
        return None
    from chat_api.retrieval.local import DEFAULT_KNOWLEDGE_BASE, LocalRetriever

    if settings.local_index:
        index_file = Path(settings.local_index)
        if not index_file.is_file():
            raise SettingsError("CHAT_LOCAL_INDEX names no index file; build it with make ingest")
        return LocalRetriever.open(index_file, settings.local_min_match)
    folder = Path(settings.knowledge_base_dir or DEFAULT_KNOWLEDGE_BASE)
    return LocalRetriever.from_folder(folder, settings.local_min_match)
