"""How the stand-in Azure AI Search service finds documents and pages through them: text search
(a title word counts twice), vector search (cosine), hybrid search fused by reciprocal rank
(RRF), and for a semantic search the reranker's scores and extractive captions.

The reranker's score (0 to 4, as the service's) reads how much of the query a document holds:
4 when it holds every word that carries meaning, falling fast as words go missing, so a
document that shares one word with an unrelated question scores low, as the real ranker's would.
"""

from __future__ import annotations

import math
import re
from typing import Any

from standins.search_index import Index

_WORD = re.compile(r"\w+")
RRF_K = 60


def results(index: Index, body: dict[str, Any], semantic: bool) -> dict[str, Any]:
    """One page of results for a search request: ranked, the fields `select` names, and the
    next page's parameters while there are more."""
    text = body.get("search") or ""
    ranked = _rank(index, text, body.get("vectorQueries") or [])
    skip = body.get("skip") or 0
    top = body.get("top")
    page = min(top if top is not None else 50, 1000)
    window = ranked[skip : skip + page]
    select = body.get("select")
    fields = select.split(",") if isinstance(select, str) else select
    values = []
    for score, doc in window:
        out = {k: v for k, v in doc.items() if (k in fields if fields else k != "embedding")}
        out["@search.score"] = score
        if semantic:
            out["@search.rerankerScore"] = reranker_score(doc, text)
            if body.get("captions"):
                out["@search.captions"] = [{"text": _caption(doc, text), "highlights": ""}]
        values.append(out)
    result: dict[str, Any] = {"value": values}
    more = skip + page < len(ranked)
    if more and (top is None or top > page):
        result["@search.nextPageParameters"] = {
            **body,
            "skip": skip + page,
            "top": None if top is None else top - page,
        }
    return result


def _rank(
    index: Index, text: str, vector_queries: list[dict[str, Any]]
) -> list[tuple[float, dict[str, Any]]]:
    documents = list(index.documents.values())
    terms = [w for w in _WORD.findall(text.lower()) if not text.startswith("*")]
    rankings: list[list[tuple[float, dict[str, Any]]]] = []
    if not terms and not vector_queries:
        return [(1.0, doc) for doc in documents]
    if terms:
        scored = [(_text_score(doc, terms), doc) for doc in documents]
        rankings.append(sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0]))
    for query in vector_queries:
        field_name = query["fields"]
        k = query.get("k") or query.get("kNearestNeighbors") or 50
        scored = [(_cosine(query["vector"], doc.get(field_name) or []), doc) for doc in documents]
        rankings.append(sorted(scored, key=lambda s: -s[0])[:k])
    if len(rankings) == 1:
        return rankings[0]
    fused: dict[str, tuple[float, dict[str, Any]]] = {}
    for ranking in rankings:
        for rank, (_, doc) in enumerate(ranking, start=1):
            key = doc[index.key]
            previous = fused.get(key, (0.0, doc))[0]
            fused[key] = (previous + 1.0 / (RRF_K + rank), doc)
    return sorted(fused.values(), key=lambda s: -s[0])


def _text_score(doc: dict[str, Any], terms: list[str]) -> float:
    title = _WORD.findall(str(doc.get("title", "")).lower())
    content = _WORD.findall(str(doc.get("content", "")).lower())
    return float(sum(2 * title.count(t) + content.count(t) for t in terms))


# Words that carry no meaning of their own in a question: the reranker looks past them.
_FILLER = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "can",
        "do",
        "does",
        "explain",
        "for",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "should",
        "tell",
        "the",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def reranker_score(doc: dict[str, Any], text: str) -> float:
    """The share of the query's meaningful words the document holds, squared, times 4."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _FILLER] or _WORD.findall(
        text.lower()
    )
    if not words:
        return 0.0
    held = set(_WORD.findall(f"{doc.get('title', '')} {doc.get('content', '')}".lower()))
    share = sum(1 for w in words if w in held) / len(words)
    return round(4.0 * share * share, 3)


def _cosine(a: list[float], b: list[float]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _caption(doc: dict[str, Any], text: str) -> str:
    terms = set(_WORD.findall(text.lower()))
    sentences = re.split(r"(?<=[.!?])\s+", str(doc.get("content", "")))
    for sentence in sentences:
        if terms & set(_WORD.findall(sentence.lower())):
            return sentence
    return sentences[0] if sentences else ""
