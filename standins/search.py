"""A stand-in Azure AI Search service that speaks the REST protocol the Python SDK uses, over
plain HTTP with an API key, so the app's retriever and the ingestion run unchanged against it.

  PUT  /indexes('NAME')                          create or update an index (validated)
  GET  /indexes('NAME')                          the index definition, or 404
  POST /indexes('NAME')/docs/search.index        upload, merge, mergeOrUpload, delete
  POST /indexes('NAME')/docs/search.post.search  text, vector (cosine) and hybrid (RRF) search,
                                                 semantic reranking with captions, paging
  GET  /indexes('NAME')/docs/$count              the number of documents

A search whose text holds `#search403`, `#search500` or `#searchhang` gets that status, or no
answer at all; `#searchwaitN` answers after N seconds, `#searchheld` once POST /_release allows
it; a semantic one whose text holds `#semanticquota` is refused as on a Free plan whose month of
semantic queries is used up. POST /_deny {"count": N} refuses the next N requests with 403, as
the service does until a new role assignment applies. GET /_stats tells what was asked (the
search bodies, every request's method, path and api-version, document counts, searches abandoned
by their caller); POST /_reset forgets the requests, not the data.
Run: python -m standins.search --port 0 --api-key KEY   (prints "READY port=N")
"""

from __future__ import annotations

import argparse
import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from standins import search_ranking
from standins.search_index import (
    Index,
    indexing_result,
    invalid_definition,
    invalid_document,
)
from standins.serving import serve

_INDEX_PATH = re.compile(r"^/indexes\('([^']+)'\)(/.*)?$")


@dataclass
class Stats:
    requests: list[dict[str, Any]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    index_batches: int = 0
    index_actions: int = 0
    # Searches whose caller went away while they were running.
    aborted_searches: int = 0


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
        self.released = asyncio.Semaphore(0)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/_stats", self.get_stats)
        app.router.add_post("/_reset", self.reset)
        app.router.add_post("/_deny", self.deny)
        app.router.add_post("/_release", self.release)
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
                "aborted_searches": self.stats.aborted_searches,
                "indexes": {
                    name: {"definition": index.definition, "documents": len(index.documents)}
                    for name, index in self.indexes.items()
                },
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.stats = Stats()
        self.released = asyncio.Semaphore(0)
        return _json({"ok": True})

    async def release(self, request: web.Request) -> web.Response:
        self.released.release()
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
        body: dict[str, Any] = orjson.loads(await request.read()) if request.can_read_body else {}
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
        problem = invalid_definition(name, definition)
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
                results.append(indexing_result(str(doc_id), False, 400, "Invalid document key."))
                continue
            problem = invalid_document(index, document) if kind != "delete" else None
            if problem:
                results.append(indexing_result(doc_id, False, 400, problem))
                continue
            if kind == "delete":
                index.documents.pop(doc_id, None)
                results.append(indexing_result(doc_id, True, 200))
            elif kind == "upload":
                created = doc_id not in index.documents
                index.documents[doc_id] = document
                results.append(indexing_result(doc_id, True, 201 if created else 200))
            elif kind in ("merge", "mergeOrUpload"):
                if kind == "merge" and doc_id not in index.documents:
                    results.append(indexing_result(doc_id, False, 404, "Document not found."))
                    continue
                index.documents[doc_id] = {**index.documents.get(doc_id, {}), **document}
                results.append(indexing_result(doc_id, True, 200))
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
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.stats.aborted_searches += 1
                raise
        if wait := re.search(r"#searchwait(\d+(?:\.\d+)?)", text):
            await asyncio.sleep(float(wait.group(1)))
        if "#searchheld" in text:
            await self.released.acquire()
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
        return _json(search_ranking.results(index, body, semantic))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="search-test-key")
    args = parser.parse_args()
    asyncio.run(serve(StandInSearch(args.api_key).app(), args.host, args.port))


if __name__ == "__main__":
    main()
