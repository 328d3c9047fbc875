"""An embedded full-text index over a folder of Markdown and text files (the bundled
knowledge base is the project's own documentation). SQLite FTS5 from the standard library:
BM25 ranking, stemming, no server; built in memory at start-up in milliseconds."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from chat_api.retrieval import Passage

DEFAULT_KNOWLEDGE_BASE = Path(__file__).resolve().parents[2] / "docs"
_MAX_SECTION_CHARS = 1500
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "some",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "tell",
        "please",
        "explain",
        "show",
        "give",
        "want",
        "know",
        "need",
    ]
)


class LocalRetriever:
    """Full-text search over a folder of documents."""

    name = "local"

    def __init__(self, documents: Iterable[tuple[str, str]]) -> None:
        # One connection, used only from the event loop's thread; queries take microseconds.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE passages USING fts5("
            "id UNINDEXED, source UNINDEXED, title, body, tokenize='porter unicode61')"
        )
        rows = [
            (p.id, p.source, p.title, p.text)
            for source, text in documents
            for p in split_document(source, text)
        ]
        self._db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?)", rows)
        self.size = len(rows)

    @classmethod
    def from_folder(cls, folder: Path) -> LocalRetriever:
        files = sorted(
            p for p in folder.rglob("*") if p.suffix.lower() in {".md", ".txt"} and p.is_file()
        )
        return cls((str(p.relative_to(folder.parent)), p.read_text("utf-8")) for p in files)

    async def search(self, query: str, *, top: int) -> list[Passage]:
        match = match_expression(query)
        if not match:
            return []
        cursor = self._db.execute(
            "SELECT id, source, title, body, bm25(passages, 0, 0, 4.0, 1.0) AS rank "
            "FROM passages WHERE passages MATCH ? ORDER BY rank LIMIT ?",
            (match, top),
        )
        return [
            Passage(id=row[0], source=row[1], title=row[2], text=row[3], score=-row[4])
            for row in cursor.fetchall()
        ]

    async def aclose(self) -> None:
        self._db.close()


def keywords(text: str) -> list[str]:
    """The words of a question worth searching for, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def match_expression(query: str) -> str:
    """An FTS5 query matching any keyword; each is quoted so user text is never syntax."""
    return " OR ".join(f'"{word}"' for word in keywords(query)[:32])


def split_document(source: str, text: str) -> list[Passage]:
    """Split Markdown into sections by heading; long sections into paragraphs groups."""
    doc_title = source
    first = _HEADING.search(text)
    if first and len(first.group(1)) == 1:
        doc_title = first.group(2)
    starts = [m.start() for m in _HEADING.finditer(text)] or [0]
    if starts[0] != 0:
        starts.insert(0, 0)
    passages: list[Passage] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        section = text[start:end].strip()
        if not section:
            continue
        heading = _HEADING.match(section)
        title = heading.group(2) if heading else doc_title
        body = section[heading.end() :].strip() if heading else section
        if not body:
            continue
        anchor = _anchor(title)
        full_title = title if title == doc_title else f"{doc_title}: {title}"
        for part, chunk in enumerate(_pieces(body)):
            suffix = f"-{part + 1}" if part else ""
            passages.append(
                Passage(
                    id=f"{source}#{anchor}{suffix}",
                    title=full_title,
                    source=f"{source}#{anchor}",
                    text=chunk,
                )
            )
    return passages


def _pieces(body: str) -> list[str]:
    if len(body) <= _MAX_SECTION_CHARS:
        return [body]
    pieces: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", body):
        if current and len(current) + len(paragraph) > _MAX_SECTION_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    return pieces


def _anchor(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")
