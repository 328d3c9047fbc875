"""Ingestion: a folder of documents into a search index, idempotently.

Files are read (Markdown, text, PDF) and cut into overlapping chunks on sentence boundaries,
each with a stable id from its source and content. Only chunks the index does not hold yet are
embedded (in batches) and uploaded (in batches); chunks of re-read files that no longer exist
are removed. So a second run over the same files changes nothing and embeds nothing.

`python -m chat_api.ingest` (what `make ingest` runs) is the command; this module is the work,
the same for both targets: Azure AI Search (`search_index.py`) and the local index file.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from tqdm import tqdm

from chat_api.ingest.site import PAGE_SUFFIXES, PageReader
from chat_api.retrieval import Passage
from chat_api.retrieval.chunking import passage_id
from chat_api.retrieval.documents import DocumentError, find_documents, read_passages, source_name
from chat_api.retrieval.local import LocalRetriever, unique

if TYPE_CHECKING:
    from chat_api.ingest.sitemap import FetchedSite

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
_T = TypeVar("_T")

UPLOAD_BATCH = 100
EMBED_BATCH = 16


class IngestError(Exception):
    """The run cannot go on (the index refused a batch, the model failed); says why."""


class Target(Protocol):
    """Where the passages go."""

    description: str
    wants_vectors: bool

    async def existing(self) -> dict[str, str]:
        """Every passage id in the index, with its document (empty when there is no index)."""
        ...

    async def prepare(self, dimensions: int | None) -> None:
        """Create or update the index; `dimensions` of the vectors, when known."""
        ...

    async def upload(self, passages: list[Passage], vectors: list[list[float]] | None) -> None: ...

    async def delete(self, ids: list[str]) -> None: ...

    async def aclose(self) -> None: ...


@dataclass
class Summary:
    target: str
    files: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # pages that could not be fetched
    chunks: int = 0
    added: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def lines(self) -> list[str]:
        out = [f"Skipped {source}: {reason}" for source, reason in self.skipped]
        files = f"{self.files} file{'s' if self.files != 1 else ''}"
        skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
        out.append(
            f"{self.target}: {files}{skipped}, {self.chunks} chunks: {self.added} added, "
            f"{self.unchanged} unchanged, {self.removed} removed ({self.seconds:.1f} s)"
        )
        return out

    def failure_lines(self) -> list[str]:
        """The pages that could not be fetched: what the run ends with."""
        out = [f"Failed {address}: {reason}" for address, reason in self.failed]
        if self.failed:
            out.append(
                f"{len(self.failed)} page{'s' if len(self.failed) != 1 else ''} could not be "
                "fetched and kept what they had in the index (nothing was pruned); run again "
                "to retry them"
            )
        return out


@dataclass
class Documents:
    passages: list[Passage]
    read: set[str]  # the documents read (their stale chunks may go)
    files: int
    skipped: list[tuple[str, str]]
    failed: list[tuple[str, str]] = field(default_factory=list)

    def __add__(self, other: Documents) -> Documents:
        return Documents(
            unique(self.passages + other.passages),
            self.read | other.read,
            self.files + other.files,
            sorted(self.skipped + other.skipped),
            self.failed + other.failed,
        )


def read_fetched_site(site: FetchedSite) -> Documents:
    """A live site's fetched pages, each at its own address (or its canonical one)."""
    reader = PageReader()
    for address, html in site.pages:
        reader.add(address, address, html)
    return Documents(
        unique(reader.passages),
        reader.read,
        reader.pages,
        sorted(reader.skipped + site.skipped),
        sorted(site.failed),
    )


def read_folders(
    folders: Iterable[Path], *, url_prefix: str = "", base_url: str = "", progress: bool = True
) -> Documents:
    """Every supported file under the folders, as passages, and every HTML page of a built
    site (served under `base_url`); unreadable files are skipped and reported, never the end
    of the run."""
    files = [(path, folder) for folder in folders for path in find_documents(folder)]
    pages = [(p, folder) for folder in folders for p in find_documents(folder, PAGE_SUFFIXES)]
    passages: list[Passage] = []
    read: set[str] = set()
    skipped: list[tuple[str, str]] = []
    site = PageReader()
    for path, folder in tqdm(files + pages, desc="Reading", unit="file", disable=not progress):
        if path.suffix.lower() in PAGE_SUFFIXES:
            site.add_file(path, folder, base_url)
            continue
        source = source_name(path, folder)
        try:
            found = read_passages(path, source)
        except DocumentError as exc:
            skipped.append((source, str(exc)))
            continue
        read.add(source)
        passages.extend(with_url(p, url_prefix) for p in found)
    return Documents(
        unique(passages + site.passages),
        read | site.read,
        len(files) + len(pages),
        sorted(skipped + site.skipped),
    )


def with_url(passage: Passage, url_prefix: str) -> Passage:
    """The passage linked under `url_prefix` (a repository or site the documents live at)."""
    if not url_prefix:
        return passage
    url = url_prefix.rstrip("/") + "/" + passage.source
    return replace(
        passage, url=url, id=passage_id(passage.source, passage.title, passage.text, url)
    )


async def ingest(
    documents: Documents,
    target: Target,
    *,
    embed: Embed | None = None,
    upload_batch: int = UPLOAD_BATCH,
    embed_batch: int = EMBED_BATCH,
    prune: bool = False,
    progress: bool = True,
) -> Summary:
    """Bring the index in line with the documents: add what is new, remove what is gone."""
    started = time.perf_counter()
    summary = Summary(
        target.description,
        files=documents.files,
        skipped=documents.skipped,
        failed=documents.failed,
    )
    existing = await target.existing()
    # A page that could not be fetched this time is still on the site: prune nothing.
    prune = prune and not documents.failed
    wanted = {p.id for p in documents.passages}
    to_add = [p for p in documents.passages if p.id not in existing]
    stale = [
        key
        for key, document in existing.items()
        if key not in wanted and (prune or document in documents.read)
    ]
    summary.chunks = len(documents.passages)
    summary.unchanged = summary.chunks - len(to_add)
    if target.wants_vectors and embed is None and to_add:
        raise IngestError("this index needs embeddings, and no embedding model is configured")

    prepared = False
    with tqdm(total=len(to_add), desc="Uploading", unit="chunk", disable=not progress) as bar:
        for batch in batches(to_add, upload_batch):
            vectors: list[list[float]] | None = None
            if target.wants_vectors and embed is not None:
                vectors = []
                for texts in batches([f"{p.title}\n{p.text}" for p in batch], embed_batch):
                    vectors.extend(await embed(texts))
                if len(vectors) != len(batch):
                    raise IngestError("the embedding model returned the wrong number of vectors")
            if not prepared:
                await target.prepare(len(vectors[0]) if vectors else None)
                prepared = True
            await target.upload(batch, vectors)
            summary.added += len(batch)
            bar.update(len(batch))
    if not prepared:
        await target.prepare(None)
    for keys in batches(stale, upload_batch):
        await target.delete(keys)
        summary.removed += len(keys)
    summary.seconds = time.perf_counter() - started
    return summary


def batches(items: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LocalTarget:
    """The local index file (SQLite FTS5) the app opens with CHAT_LOCAL_INDEX: full text only."""

    wants_vectors = False

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.description = f"Local index {path}"
        self.index = LocalRetriever(path=path)

    async def existing(self) -> dict[str, str]:
        return self.index.existing()

    async def prepare(self, dimensions: int | None) -> None:
        return None

    async def upload(self, passages: list[Passage], vectors: list[list[float]] | None) -> None:
        self.index.add(passages)

    async def delete(self, ids: list[str]) -> None:
        self.index.delete(ids)

    async def aclose(self) -> None:
        self.index.commit()
        await self.index.aclose()
