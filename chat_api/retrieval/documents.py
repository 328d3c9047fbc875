"""Reading a folder of documents (Markdown, plain text, PDF) into passages. What the local
index is built from at start-up and what `make ingest` uploads."""

from __future__ import annotations

from pathlib import Path

from chat_api.retrieval import Passage
from chat_api.retrieval.chunking import split_document, split_plain_text

MARKDOWN = frozenset({".md", ".markdown"})
SUPPORTED = MARKDOWN | {".txt", ".pdf"}


class DocumentError(Exception):
    """A file that cannot be read as a document; the message says why, for people."""


def find_documents(folder: Path, suffixes: frozenset[str] = SUPPORTED) -> list[Path]:
    """The files of those suffixes under `folder`, in a stable order, hidden folders left
    out."""
    if not folder.is_dir():
        raise DocumentError(f"{folder} is not a folder")
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in suffixes
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def source_name(path: Path, folder: Path) -> str:
    """How passages name their file: the path from the folder's parent (`docs/api.md`)."""
    return path.resolve().relative_to(folder.resolve().parent).as_posix()


def read_passages(path: Path, source: str) -> list[Passage]:
    """The passages of one file, or DocumentError when it cannot be read."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf_passages(path, source)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8 text") from None
    except OSError as exc:
        raise DocumentError(exc.strerror or "cannot be read") from None
    if "\x00" in text:
        raise DocumentError("binary content, not text")
    if suffix in MARKDOWN:
        return split_document(source, text)
    return split_plain_text(source, Path(source).name, text)


def _pdf_passages(path: Path, source: str) -> list[Passage]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("the PDF is encrypted")
        metadata = reader.metadata
        title = (metadata.title if metadata else None) or Path(source).stem
        pages = [(number, page.extract_text() or "") for number, page in enumerate(reader.pages, 1)]
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types on a damaged file; all mean the same
        raise DocumentError(f"not a readable PDF ({type(exc).__name__})") from None
    passages = [
        passage
        for number, text in pages
        for passage in split_plain_text(f"{source}#page={number}", f"{title}, page {number}", text)
    ]
    if not passages:
        raise DocumentError("no text in the PDF (a scanned PDF needs text recognition first)")
    return passages
