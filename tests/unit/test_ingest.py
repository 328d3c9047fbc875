"""Ingestion: idempotent, batched, skipping bad files; the local index as its target."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from chat_api import ingest
from chat_api.ingest import LocalTarget, read_folders
from chat_api.ingest import ingest as run_ingest
from chat_api.ingest.__main__ import main
from chat_api.retrieval import Passage
from chat_api.retrieval.local import LocalRetriever
from tests.support.pdf import make_pdf

GUIDE = (
    "# Guide\n\n## Install\n\nRun the installer. It takes a minute.\n\n## Use\n\nOpen the app.\n"
)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "notes.txt").write_text("Support answers within a day.", encoding="utf-8")
    (folder / "manual.pdf").write_bytes(make_pdf(["The warranty lasts two years."], "Manual"))
    return folder


async def _ingest_local(folder: Path, index: Path, **options) -> ingest.Summary:
    target = LocalTarget(index)
    try:
        documents = read_folders([folder], progress=False)
        return await run_ingest(documents, target, progress=False, **options)
    finally:
        await target.aclose()


def _rows(index: Path) -> list[tuple]:
    """The passages the index file holds, read as the file it is (SQLite)."""
    with contextlib.closing(sqlite3.connect(index)) as db:
        return sorted(db.execute("SELECT id, source, title, body, url FROM passages"))


async def test_ingesting_the_same_files_twice_changes_nothing(kb, tmp_path):
    index = tmp_path / "index.sqlite"

    first = await _ingest_local(kb, index)
    rows = _rows(index)
    second = await _ingest_local(kb, index)

    assert (first.added, first.unchanged, first.removed) == (4, 0, 0)
    assert (second.added, second.unchanged, second.removed) == (0, 4, 0)
    assert not second.changed
    assert _rows(index) == rows


async def test_a_changed_file_replaces_its_old_chunks(kb, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_local(kb, index)
    (kb / "guide.md").write_text(GUIDE.replace("a minute", "an hour"), encoding="utf-8")

    summary = await _ingest_local(kb, index)

    assert (summary.added, summary.removed) == (1, 1)
    bodies = [row[3] for row in _rows(index)]
    assert "Run the installer. It takes an hour." in bodies
    assert "Run the installer. It takes a minute." not in bodies


async def test_bad_files_are_reported_and_skipped_and_keep_their_chunks(kb, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_local(kb, index)
    (kb / "manual.pdf").write_bytes(b"%PDF-1.4 damaged")
    (kb / "broken.md").write_bytes(b"\xff\xfe\x00")

    summary = await _ingest_local(kb, index)

    assert [source for source, _ in summary.skipped] == ["kb/broken.md", "kb/manual.pdf"]
    assert summary.removed == 0
    assert any(row[1] == "kb/manual.pdf#page=1" for row in _rows(index))
    assert "Skipped kb/manual.pdf: not a readable PDF" in "\n".join(summary.lines())


async def test_files_gone_from_the_folder_stay_unless_pruned(kb, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_local(kb, index)
    (kb / "notes.txt").unlink()

    kept = await _ingest_local(kb, index)
    pruned = await _ingest_local(kb, index, prune=True)

    assert kept.removed == 0
    assert pruned.removed == 1
    assert not any(row[1] == "kb/notes.txt" for row in _rows(index))


class RecordingTarget:
    """An index that wants vectors, recording every call."""

    description = "Recording index"
    wants_vectors = True

    def __init__(self, existing: dict[str, str] | None = None) -> None:
        self.held = dict(existing or {})
        self.prepared: list[int | None] = []
        self.uploads: list[tuple[list[Passage], list[list[float]] | None]] = []
        self.deleted: list[list[str]] = []

    async def existing(self) -> dict[str, str]:
        return dict(self.held)

    async def prepare(self, dimensions: int | None) -> None:
        self.prepared.append(dimensions)

    async def upload(self, passages, vectors) -> None:
        self.uploads.append((passages, vectors))

    async def delete(self, ids) -> None:
        self.deleted.append(ids)

    async def aclose(self) -> None:
        return None


def _documents(count: int) -> ingest.Documents:
    passages = [Passage(f"id{n}", f"T{n}", f"kb/{n}.md#t", f"text {n}") for n in range(count)]
    return ingest.Documents(passages, {f"kb/{n}.md" for n in range(count)}, count, [])


async def test_chunks_are_embedded_and_uploaded_in_batches():
    calls: list[list[str]] = []

    async def embed(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return [[1.0, 0.0, 0.0] for _ in texts]

    target = RecordingTarget()

    await run_ingest(
        _documents(25), target, embed=embed, upload_batch=10, embed_batch=4, progress=False
    )

    assert [len(batch) for batch, _ in target.uploads] == [10, 10, 5]
    assert all(len(vectors) == len(batch) for batch, vectors in target.uploads)
    assert [len(c) for c in calls] == [4, 4, 2] * 2 + [4, 1]
    assert calls[0][0] == "T0\ntext 0"
    assert target.prepared == [3]


async def test_only_new_chunks_are_embedded_and_stale_ones_deleted():
    embedded: list[str] = []

    async def embed(texts: list[str]) -> list[list[float]]:
        embedded.extend(texts)
        return [[1.0, 0.0] for _ in texts]

    target = RecordingTarget({"id0": "kb/0.md", "id1": "kb/1.md", "old": "kb/1.md"})

    summary = await run_ingest(_documents(3), target, embed=embed, progress=False)

    assert embedded == ["T2\ntext 2"]
    assert target.deleted == [["old"]]
    assert (summary.added, summary.unchanged, summary.removed) == (1, 2, 1)


async def test_with_nothing_new_the_index_is_still_created_or_updated():
    target = RecordingTarget({"id0": "kb/0.md"})

    await run_ingest(_documents(1), target, embed=None, progress=False)

    assert target.prepared == [None]
    assert target.uploads == []


async def test_a_url_prefix_links_every_chunk(kb, tmp_path):
    documents = read_folders([kb], url_prefix="https://example.org/repo/", progress=False)

    assert {p.url.split("#")[0] for p in documents.passages} == {
        "https://example.org/repo/kb/guide.md",
        "https://example.org/repo/kb/notes.txt",
        "https://example.org/repo/kb/manual.pdf",
    }


def test_the_command_builds_a_local_index_the_app_can_serve(kb, tmp_path, monkeypatch, capsys):
    for name in ("AZURE_SEARCH_ENDPOINT", "CHAT_LOCAL_INDEX", "OPENAI_HOST"):
        monkeypatch.delenv(name, raising=False)
    index = tmp_path / "built.sqlite"

    first = main([str(kb), "--local-index", str(index), "--no-progress"])
    second = main([str(kb), "--local-index", str(index), "--no-progress"])

    out = capsys.readouterr().out
    assert (first, second) == (0, 0)
    assert f"Local index {index}: 3 files, 4 chunks: 4 added" in out
    assert "4 chunks: 0 added, 4 unchanged, 0 removed" in out
    assert f"CHAT_LOCAL_INDEX={index}" in out
    assert len(_rows(index)) == 4


async def test_the_app_serves_an_ingested_local_index(kb, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_local(kb, index)

    retriever = LocalRetriever.open(index)
    found = await retriever.search("how long is the warranty", top=1)
    await retriever.aclose()

    assert found[0].source == "kb/manual.pdf#page=1"


# --- Built sites ------------------------------------------------------------------------------

SITES = Path(__file__).resolve().parents[1] / "fixtures" / "sites"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the Sphinx fixture site (no canonical links on most pages), free to change."""
    folder = tmp_path / "site"
    shutil.copytree(SITES / "sphinx-rtd", folder)
    return folder


async def _ingest_site(folder: Path, index: Path, **options) -> ingest.Summary:
    target = LocalTarget(index)
    try:
        documents = read_folders([folder], base_url="https://docs.example.com", progress=False)
        return await run_ingest(documents, target, progress=False, **options)
    finally:
        await target.aclose()


def test_a_page_without_a_canonical_link_is_addressed_under_the_base_url(tmp_path):
    folder = tmp_path / "site"
    shutil.copytree(SITES / "hugo", folder)

    documents = read_folders([folder], base_url="https://falcon.example/", progress=False)

    assert {p.document for p in documents.passages} == {
        "https://falcon.example/guide/configuration/",
        "https://falcon.example/posts/hello/",
    }


def test_pages_not_to_index_are_reported_with_why(tmp_path):
    documents = read_folders([SITES / "mkdocs-material"], progress=False)

    assert documents.skipped == [
        ("mkdocs-material/404.html", "a not-found page"),
        ("mkdocs-material/old-install/index.html", "a redirect (meta refresh)"),
    ]
    assert documents.files == 4


async def test_re_ingesting_an_unchanged_site_changes_nothing(site, tmp_path):
    index = tmp_path / "index.sqlite"

    first = await _ingest_site(site, index)
    second = await _ingest_site(site, index)

    assert first.added == 3
    assert (second.added, second.unchanged, second.removed) == (0, 3, 0)


async def test_a_changed_page_replaces_only_its_changed_section(site, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_site(site, index)
    usage = site / "usage.html"
    usage.write_text(usage.read_text("utf-8").replace("first install it", "install it"), "utf-8")

    summary = await _ingest_site(site, index)

    assert (summary.added, summary.unchanged, summary.removed) == (1, 2, 1)
    assert any("To use Lumache, install it using pip" in row[3] for row in _rows(index))


async def test_a_removed_page_is_pruned(site, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_site(site, index)
    (site / "usage.html").unlink()

    kept = await _ingest_site(site, index)
    pruned = await _ingest_site(site, index, prune=True)

    assert kept.removed == 0
    assert pruned.removed == 2
    assert {row[4] for row in _rows(index)} == {"https://lumache.example.io/en/latest/index.html"}


async def test_a_page_now_marked_noindex_leaves_the_index_without_pruning(site, tmp_path):
    index = tmp_path / "index.sqlite"
    await _ingest_site(site, index)
    usage = site / "usage.html"
    usage.write_text(
        usage.read_text("utf-8").replace("<head>", '<head><meta name="robots" content="noindex">'),
        "utf-8",
    )

    summary = await _ingest_site(site, index)

    assert summary.removed == 2
    assert ("site/usage.html", "marked noindex") in summary.skipped
