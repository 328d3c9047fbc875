"""A stand-in Azure AI Search service that speaks the REST protocol the Python SDK uses, over
plain HTTP with an API key, so the app's retriever and the ingestion run unchanged against it.

  PUT  /indexes('NAME')                          create or update an index (validated)
  GET  /indexes('NAME')                          the index definition, or 404
  POST /indexes('NAME')/docs/search.index        upload, merge, mergeOrUpload, delete
  POST /indexes('NAME')/docs/search.post.search  text, vector (cosine) and hybrid (RRF) search,
                                                 semantic reranking with captions, paging
  GET  /indexes('NAME')/docs/$count              the number of documents

A search whose text holds `#search403`, `#search500` or `#searchhang` gets that status, or no
answer at all; `#searchwaitN` answers after N seconds; a semantic one whose text holds
`#semanticquota` is refused as on a Free plan whose month of semantic queries is used up.
POST /_deny {"count": N} refuses the next N requests with 403, as the service does until a new
role assignment applies. GET /_stats tells what was asked (the search bodies, every request's
method, path and api-version, document counts); POST /_reset forgets the requests, not the data.
Run: python -m tests.support.standin_search --port 0 --api-key KEY   (prints "READY port=N")
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.serving import serve

_INDEX_PATH = re.compile(r"^/indexes\('([^']+)'\)(/.*)?$")
_WORD = re.compile(r"\w+")
RRF_K = 60


@dataclass
class Index:
    definition: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: int = 1

    @property
    def key(self) -> str:
        return next(f["name"] for f in self.definition["fields"] if f.get("key"))

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.definition["fields"] if f["name"] == name), None)


@dataclass
class Stats:
    requests: list[dict[str, Any]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    index_batches: int = 0
    index_actions: int = 0


def _error(status: int, message: str, code: str = "") -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


class StandInSearch:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.indexes: dict[str, Index] = {}
        self.stats = Stats()
        self.deny_next = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/_stats", self.get_stats)
        app.router.add_post("/_reset", self.reset)
        app.router.add_post("/_deny", self.deny)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def get_stats(self, request: web.Request) -> web.Response:
        return _json(
            {
                "requests": self.stats.requests,
                "searches": len(self.stats.searches),
                "last_search": self.stats.searches[-1] if self.stats.searches else None,
                "searches_sent": self.stats.searches,
                "index_batches": self.stats.index_batches,
                "index_actions": self.stats.index_actions,
                "indexes": {
                    name: {"definition": index.definition, "documents": len(index.documents)}
                    for name, index in self.indexes.items()
                },
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.stats = Stats()
        return _json({"ok": True})

    async def deny(self, request: web.Request) -> web.Response:
        self.deny_next = int((await request.json())["count"])
        return _json({"ok": True})

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "api_version": request.query.get("api-version"),
            }
        )
        if request.headers.get("api-key") != self.api_key:
            return _error(403, "Authorization failed.")
        if self.deny_next > 0:
            self.deny_next -= 1
            return _error(403, "Authorization failed.")
        if not request.query.get("api-version"):
            return _error(400, "The api-version query parameter is required.")
        match = _INDEX_PATH.match(request.path)
        if not match:
            return _error(404, "No such resource.")
        name, rest = match.group(1), match.group(2) or ""
        body = orjson.loads(await request.read()) if request.can_read_body else None
        if rest == "" and request.method == "PUT":
            return self.put_index(name, body)
        index = self.indexes.get(name)
        if index is None:
            return _error(404, f"The index '{name}' was not found.")
        if rest == "" and request.method == "GET":
            return _json({**index.definition, "@odata.etag": f'"{index.etag}"'})
        if rest == "" and request.method == "DELETE":
            del self.indexes[name]
            return web.Response(status=204)
        if rest == "/docs/search.index" and request.method == "POST":
            return self.index_documents(index, body)
        if rest == "/docs/search.post.search" and request.method == "POST":
            return await self.search(index, body)
        if rest == "/docs/$count" and request.method == "GET":
            return web.Response(text=str(len(index.documents)))
        return _error(404, "No such resource.")

    # ---- Indexes ---------------------------------------------------------------------------

    def put_index(self, name: str, definition: dict[str, Any]) -> web.Response:
        problem = _invalid_definition(name, definition)
        if problem:
            return _error(400, problem, "InvalidRequestParameter")
        definition = {k: v for k, v in definition.items() if not k.startswith("@")}
        existing = self.indexes.get(name)
        if existing is not None:
            for old in existing.definition["fields"]:
                new = next((f for f in definition["fields"] if f["name"] == old["name"]), None)
                if new is not None and new.get("type") != old.get("type"):
                    return _error(400, f"Field '{old['name']}' cannot change type.")
                if new is not None and new.get("dimensions") != old.get("dimensions"):
                    return _error(400, f"Field '{old['name']}' cannot change dimensions.")
            existing.definition = definition
            existing.etag += 1
            return _json({**definition, "@odata.etag": f'"{existing.etag}"'})
        self.indexes[name] = Index(definition)
        return _json({**definition, "@odata.etag": '"1"'}, status=201)

    # ---- Documents -------------------------------------------------------------------------

    def index_documents(self, index: Index, body: dict[str, Any]) -> web.Response:
        self.stats.index_batches += 1
        results = []
        key = index.key
        for action in body["value"]:
            self.stats.index_actions += 1
            kind = action.get("@search.action", "upload")
            document = {k: v for k, v in action.items() if not k.startswith("@")}
            doc_id = document.get(key)
            if not isinstance(doc_id, str) or not re.fullmatch(r"[A-Za-z0-9_\-=]+", doc_id):
                results.append(_result(str(doc_id), False, 400, "Invalid document key."))
                continue
            problem = _invalid_document(index, document) if kind != "delete" else None
            if problem:
                results.append(_result(doc_id, False, 400, problem))
                continue
            if kind == "delete":
                index.documents.pop(doc_id, None)
                results.append(_result(doc_id, True, 200))
            elif kind == "upload":
                created = doc_id not in index.documents
                index.documents[doc_id] = document
                results.append(_result(doc_id, True, 201 if created else 200))
            elif kind in ("merge", "mergeOrUpload"):
                if kind == "merge" and doc_id not in index.documents:
                    results.append(_result(doc_id, False, 404, "Document not found."))
                    continue
                index.documents[doc_id] = {**index.documents.get(doc_id, {}), **document}
                results.append(_result(doc_id, True, 200))
            else:
                return _error(400, f"Unknown action {kind}.")
        status = 200 if all(r["status"] for r in results) else 207
        return _json({"value": results}, status=status)

    # ---- Search ----------------------------------------------------------------------------

    async def search(self, index: Index, body: dict[str, Any]) -> web.Response:
        self.stats.searches.append(body)
        text = body.get("search") or ""
        if "#search403" in text:
            return _error(403, "Forbidden.")
        if "#search500" in text:
            return _error(500, "The service had an internal error.")
        if "#searchhang" in text:
            await asyncio.sleep(3600)
        if wait := re.search(r"#searchwait(\d+(?:\.\d+)?)", text):
            await asyncio.sleep(float(wait.group(1)))
        semantic = body.get("queryType") == "semantic"
        if semantic and "#semanticquota" in text:
            return _error(
                400,
                "The semantic ranker's free plan quota for this month is exhausted. "
                "Switch to the standard plan to continue using semantic ranking.",
            )
        if semantic:
            names = [
                c["name"]
                for c in (index.definition.get("semantic") or {}).get("configurations", [])
            ]
            if body.get("semanticConfiguration") not in names:
                return _error(400, "Unknown semantic configuration.")
        ranked = self._rank(index, text, body.get("vectorQueries") or [])
        skip = body.get("skip") or 0
        top = body.get("top")
        page = min(top if top is not None else 50, 1000)
        window = ranked[skip : skip + page]
        select = body.get("select")
        fields = select.split(",") if isinstance(select, str) else select
        values = []
        for position, (score, doc) in enumerate(window):
            out = {k: v for k, v in doc.items() if (k in fields if fields else k != "embedding")}
            out["@search.score"] = score
            if semantic:
                out["@search.rerankerScore"] = round(4.0 - 0.1 * position, 3)
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
        return _json(result)

    def _rank(
        self, index: Index, text: str, vector_queries: list[dict[str, Any]]
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
            scored = [
                (_cosine(query["vector"], doc.get(field_name) or []), doc) for doc in documents
            ]
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


def _result(key: str, ok: bool, status: int, message: str | None = None) -> dict[str, Any]:
    return {"key": key, "status": ok, "errorMessage": message, "statusCode": status}


def _invalid_definition(name: str, definition: dict[str, Any]) -> str | None:
    if definition.get("name") != name:
        return "The index name in the body does not match the URL."
    fields = definition.get("fields") or []
    if [f.get("key") for f in fields].count(True) != 1:
        return "An index needs exactly one key field."
    vector_search = definition.get("vectorSearch") or {}
    profiles = {p["name"]: p for p in vector_search.get("profiles") or []}
    algorithms = {a["name"]: a for a in vector_search.get("algorithms") or []}
    for profile in profiles.values():
        if profile.get("algorithm") not in algorithms:
            return f"Vector profile '{profile['name']}' names an unknown algorithm."
    for f in fields:
        if f.get("type") == "Collection(Edm.Single)":
            if not isinstance(f.get("dimensions"), int) or f["dimensions"] < 2:
                return f"Vector field '{f['name']}' needs dimensions."
            if f.get("vectorSearchProfile") not in profiles:
                return f"Vector field '{f['name']}' names an unknown vector profile."
    names = {f["name"] for f in fields}
    for config in (definition.get("semantic") or {}).get("configurations", []):
        prioritized = config.get("prioritizedFields") or {}
        wanted = [(prioritized.get("titleField") or {}).get("fieldName")]
        wanted += [c.get("fieldName") for c in prioritized.get("prioritizedContentFields") or []]
        if not prioritized.get("prioritizedContentFields"):
            return f"Semantic configuration '{config['name']}' has no content fields."
        if any(w and w not in names for w in wanted):
            return f"Semantic configuration '{config['name']}' names an unknown field."
    return None


def _invalid_document(index: Index, document: dict[str, Any]) -> str | None:
    for name, value in document.items():
        spec = index.field(name)
        if spec is None:
            return f"The field '{name}' is not in the index."
        vector = spec["type"] == "Collection(Edm.Single)"
        if vector and value is not None and len(value) != spec["dimensions"]:
            return f"The vector field '{name}' needs {spec['dimensions']} dimensions."
    return None


def _text_score(doc: dict[str, Any], terms: list[str]) -> float:
    title = _WORD.findall(str(doc.get("title", "")).lower())
    content = _WORD.findall(str(doc.get("content", "")).lower())
    return float(sum(2 * title.count(t) + content.count(t) for t in terms))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="search-test-key")
    args = parser.parse_args()
    asyncio.run(serve(StandInSearch(args.api_key).app(), args.host, args.port))


if __name__ == "__main__":
    main()
