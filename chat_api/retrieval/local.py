"""An embedded full-text index over a folder of documents (the bundled knowledge base is the
project's own documentation). SQLite FTS5 from the standard library: BM25 ranking, stemming, no
server; built in memory at start-up in milliseconds, from the same passages `make ingest`
uploads to Azure AI Search."""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

from chat_api.retrieval import Passage, candidates, page_first
from chat_api.retrieval.chunking import split_document as split_document
from chat_api.retrieval.documents import (
    DocumentError,
    find_documents,
    read_passages,
    source_name,
)

log = logging.getLogger(__name__)

DEFAULT_KNOWLEDGE_BASE = Path(__file__).resolve().parents[2] / "docs"
# A passage holding less than this share of the question's keywords is not relevant enough.
DEFAULT_MIN_MATCH = 0.48  # CHAT_LOCAL_MIN_MATCH's default
MAX_TERMS = 32
# A passage's own heading matching the query counts this much beside the passage's whole match.
HEADING_WEIGHT = 1.0
# How close two keywords must be to count as a pair (in tokens between them), and how many of
# the first keywords are paired (every two of them: 45 pairs at most).
NEAR_TOKENS = 8
PAIRED_TERMS = 10
# Chunks read for each passage returned, so that one per section still fills the top.
CANDIDATES_PER_PASSAGE = 4
_WORD = re.compile(r"\w+", re.UNICODE)
# Function words (pronouns, auxiliaries and modals, determiners, prepositions, conjunctions),
# the stems contractions leave ("doesn't" -> "doesn"), and the words of asking. They say nothing
# of a topic, and a rare one ("should", "myself") would weigh as much as a topic's rarest word.
# Words that name a state in this domain stay: up (azd up), down, off, out.
_STOPWORDS = frozenset(
    """
    a about above after again against all am an and another any anyone anything are as at
    be because been before being below between both but by can could did do does doing during
    each either else even ever every everyone everything for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me mine more
    most must my myself neither no nor not now of once one only or other others otherwise our
    on ours ourselves own same shall she should so some someone something such than that the their
    theirs them themselves then there these they this those though through to too under until us
    very was we were what whatever when where whether which while who whom whose why will with
    within without would yet you your yours yourself yourselves
    aren couldn didn doesn don hadn hasn haven isn ll mustn needn re shouldn ve wasn weren won
    wouldn
    tell please explain show give want know need
    look looks like happen happens happening get gets got also much many way ways
    """.split()  # noqa: SIM905 - a word list reads best as words
)


class LocalRetriever:
    """Full-text search over passages: built in memory from a folder at start-up, or opened
    read-only from an index file that `make ingest` wrote."""

    name = "local"

    def __init__(
        self,
        documents: Iterable[tuple[str, str]] = (),
        *,
        path: str | Path = ":memory:",
        read_only: bool = False,
        min_match: float = DEFAULT_MIN_MATCH,
    ) -> None:
        self.min_match = min_match
        self._headings = HeadingIndex()
        # One connection, used only from the event loop's thread; queries take microseconds.
        if read_only:
            uri = f"{Path(path).resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(id UNINDEXED, "
                "source UNINDEXED, title, body, url UNINDEXED, tokenize='porter unicode61')"
            )
        passages = [p for source, text in documents for p in split_document(source, text)]
        if passages:
            self.add(unique(passages))
            self.commit()

    @classmethod
    def from_folder(cls, folder: Path, min_match: float = DEFAULT_MIN_MATCH) -> LocalRetriever:
        """The index of every supported file in the folder; unreadable files are logged and
        left out, exactly as `make ingest` reports and skips them."""
        retriever = cls(min_match=min_match)
        passages: list[Passage] = []
        for path in find_documents(folder):
            source = source_name(path, folder)
            try:
                passages.extend(read_passages(path, source))
            except DocumentError as exc:
                log.warning("knowledge base: skipped %s: %s", source, exc)
        retriever.add(unique(passages))
        retriever.commit()
        return retriever

    @classmethod
    def open(cls, path: Path, min_match: float = DEFAULT_MIN_MATCH) -> LocalRetriever:
        """An index file written by `make ingest`, read-only."""
        if not path.is_file():
            raise FileNotFoundError(path)
        return cls(path=path, read_only=True, min_match=min_match)

    @property
    def size(self) -> int:
        count: int = self._db.execute("SELECT count(*) FROM passages").fetchone()[0]
        return count

    async def search(
        self, query: str, *, top: int, semantic_ranker: bool | None = None, page: str = ""
    ) -> list[Passage]:
        terms = keywords(query)[:MAX_TERMS]
        if not terms:
            return []
        match = match_expression(query)
        rows = self._db.execute(
            "SELECT rowid, id, source, title, body, url, -bm25(passages, 0, 0, 4.0, 1.0, 0) "
            "FROM passages WHERE passages MATCH ? ORDER BY bm25(passages, 0, 0, 4.0, 1.0, 0) "
            "LIMIT ?",
            (match, candidates(top, page) * CANDIDATES_PER_PASSAGE),
        ).fetchall()
        rows = best_per_section(rows)
        headings = self._headings.scores(match, {row[0]: row[3] for row in rows})
        scores = {row[0]: row[6] + HEADING_WEIGHT * headings.get(row[0], 0.0) for row in rows}
        rows = sorted(rows, key=lambda row: -scores[row[0]])[: candidates(top, page)]
        held = self.terms_held(terms, [row[0] for row in rows])
        found = [
            Passage(
                id=row[1],
                source=row[2],
                title=row[3],
                text=row[4],
                url=row[5],
                score=scores[row[0]],
                relevant=held[row[0]] >= self.min_match,
            )
            for row in rows
        ]
        return page_first(found, page, top)

    def terms_held(self, terms: list[str], rowids: list[int]) -> dict[int, float]:
        """The share of the query's terms each passage holds, each term weighted by its rarity
        in the index (BM25's inverse document frequency): a passage that shares only common
        words with the question, or misses its rarest word, holds little."""
        held = dict.fromkeys(rowids, 0.0)
        if not rowids:
            return held
        total = self.size
        marks = ",".join("?" * len(rowids))
        weights = 0.0
        for term in _quoted(terms):
            count = self._db.execute(
                "SELECT count(*) FROM passages WHERE passages MATCH ?", (term,)
            ).fetchone()[0]
            weight = math.log(1 + (total - count + 0.5) / (count + 0.5))
            weights += weight
            found = self._db.execute(
                f"SELECT rowid FROM passages WHERE passages MATCH ? AND rowid IN ({marks})",
                (term, *rowids),
            )
            for (rowid,) in found:
                held[rowid] += weight
        return {rowid: value / weights for rowid, value in held.items()}

    # ---- Maintenance (the ingestion's local target) ----------------------------------------

    def existing(self) -> dict[str, str]:
        """Every passage id in the index, with the document it came from."""
        rows = self._db.execute("SELECT id, source FROM passages")
        return {row[0]: row[1].split("#", 1)[0] for row in rows}

    def add(self, passages: Iterable[Passage]) -> None:
        self._db.executemany(
            "INSERT INTO passages (id, source, title, body, url) VALUES (?, ?, ?, ?, ?)",
            [(p.id, p.source, p.title, p.text, p.url) for p in passages],
        )

    def delete(self, ids: Iterable[str]) -> None:
        self._db.executemany("DELETE FROM passages WHERE id = ?", [(i,) for i in ids])

    def commit(self) -> None:
        self._db.commit()

    async def aclose(self) -> None:
        self._db.close()
        self._headings.close()


class HeadingIndex:
    """A scratch full-text index of the found passages' own headings (the last part of their
    titles), to rank by: every passage of a document carries the document's title too, so the
    main index's title match cannot tell which section a question is about."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE headings USING fts5(heading, tokenize='porter unicode61')"
        )

    def scores(self, match: str, titles: dict[int, str]) -> dict[int, float]:
        """How well each passage's heading matches the query (BM25, higher is better), by the
        passages' row ids; those whose heading does not match are left out."""
        self._db.execute("DELETE FROM headings")
        self._db.executemany(
            "INSERT INTO headings (rowid, heading) VALUES (?, ?)",
            [(rowid, title.rsplit(": ", 1)[-1]) for rowid, title in titles.items()],
        )
        found = self._db.execute(
            "SELECT rowid, -bm25(headings) FROM headings WHERE headings MATCH ?", (match,)
        )
        return dict(found.fetchall())

    def close(self) -> None:
        self._db.close()


def best_per_section(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The best-ranked chunk of each section (rows of rowid, id, source, ...), in rank order:
    the chunks of one long section, which overlap, would otherwise crowd out the others."""
    best: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        best.setdefault(row[2], row)
    return list(best.values())


def unique(passages: Iterable[Passage]) -> list[Passage]:
    """The passages without repeats (the same chunk twice in one section has one id)."""
    return list({p.id: p for p in passages}.values())


def keywords(text: str) -> list[str]:
    """The words of a question worth searching for, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def match_expression(query: str) -> str:
    """An FTS5 query matching any keyword of the query; each two keywords found close together
    in a passage (within NEAR_TOKENS) count once more, so "request body" ranks the passage about
    the request's body above one that has each word apart. Every two, not only neighbours: a
    question words a thing in its own order ("the lines the stream carries", "the stream's
    lines")."""
    terms = _quoted(keywords(query)[:MAX_TERMS])
    pairs = [f"NEAR({a} {b}, {NEAR_TOKENS})" for a, b in combinations(terms[:PAIRED_TERMS], 2)]
    return " OR ".join(terms + pairs)


def _quoted(terms: list[str]) -> list[str]:
    """Each term as an FTS5 string, so user text is never query syntax."""
    return [f'"{term}"' for term in terms]
