"""A stand-in OpenAI-compatible model server that speaks the real protocol over HTTP.

Chat completions stream as server-sent events with the shapes Azure OpenAI and OpenAI send
(Azure's first chunk with empty `choices`, a chunk without `delta`, a usage chunk, `[DONE]`).
Behaviour is chosen per request by directives in the last user message, so concurrent tests and
the browser can each ask for what they need:

  #slow      80 chunks 100 ms apart        #cut      a few chunks, then the connection drops
  #429       always 429 + Retry-After: 1   #500      always 500
  #flaky     503 on the first request for this text, then a normal answer
  #hang      never sends a response        #stall    a few chunks, then silence
  #xss       an answer carrying script, event-handler and javascript: link payloads
  #markdown  headings, a list, code and a link        #filter   ends with content_filter
  #error     an error event in the middle of the stream
  #firstwordN  the first word after N seconds (a slow or thinking model)
  #querywaitN  the search query after N seconds    #429long  429 + Retry-After: 30
  #embedhang an embedding request for this text never gets a response
  #shape-X   an event of an unexpected shape in the middle (X: a key of MALFORMED_EVENTS)
  #linger    a pause of half a second between the last text chunk and the finish chunk

A non-streamed request whose system message asks for a search query is answered with one: the
question's words, lowercased, directives kept (`query_for`), so a search stand-in sees them.

Counters at GET /_stats (requests, completed, aborted, active, queries, embeddings, the last
request and the last search-query request); POST /_reset zeroes them.
Run: python -m tests.support.standin_model --port 0   (prints "READY port=N" when listening)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.serving import serve

XSS_ANSWER = (
    "Here is the answer. <script>window.__xss=1</script> "
    '<img src=x onerror="window.__xss=1"> '
    '[click](javascript:window.__xss=1) and <a href="javascript:window.__xss=1">this</a> done.'
)
MARKDOWN_ANSWER = (
    "## Streaming\n\nNDJSON has **three** properties:\n\n- one value per line\n- UTF-8\n"
    "- no framing\n\n```python\nprint('hello')\n```\n\nSee [the spec](https://example.org/ndjson)."
)

# Events of a shape no model should send, each one `data:` payload.
MALFORMED_EVENTS = {
    "null": b"null",
    "string": b'"hello"',
    "choices": b'{"choices": "x"}',
    "choice": b'{"choices": [7]}',
    "delta": b'{"choices": [{"index": 0, "delta": "text"}]}',
    "number": b'{"choices": [{"index": 0, "delta": {"content": 42}}]}',
    "list": b'{"choices": [{"index": 0, "delta": {"content": ["a"]}}]}',
    "finish": b'{"choices": [{"index": 0, "delta": {}, "finish_reason": {"x": 1}}]}',
}


@dataclass
class Behaviour:
    first_token_ms: float = 50.0
    chunk_gap_ms: float = 20.0
    chunks: int = 20
    context_limit_chars: int = 60_000
    api_key: str = ""


@dataclass
class Counters:
    requests: int = 0
    completed: int = 0
    aborted: int = 0
    active: int = 0
    queries: int = 0
    embeddings: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    last_request: dict[str, Any] = field(default_factory=dict)
    last_query_request: dict[str, Any] = field(default_factory=dict)


def answer_words(question: str, chunks: int) -> list[str]:
    """The default answer: it names the question, then filler up to `chunks` pieces."""
    head = re.sub(r"#\w+", "", question).split()[:6]
    words = ["Answer", "to:", *head]
    words[-1] += "."
    words += [f"word{i}" for i in range(max(0, chunks - len(words)))]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def is_query_request(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or [{}]
    first = messages[0]
    return (
        not body.get("stream")
        and first.get("role") == "system"
        and "search query" in (first.get("content") or "").lower()
    )


def query_for(question: str) -> str:
    """The search query the stand-in writes for a question."""
    return " ".join(re.findall(r"#?\w+", question.lower()))


def _pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text)


def _chunk(model: str, created: int, **choice: Any) -> bytes:
    body = {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "finish_reason": None, **choice}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


class StandInModel:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.counters = Counters()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        for prefix in ("/v1", "/openai/v1", "/openai/deployments/{deployment}"):
            app.router.add_post(prefix + "/chat/completions", self.chat)
            app.router.add_post(prefix + "/embeddings", self.embeddings)
        app.router.add_get("/_stats", self.stats)
        app.router.add_post("/_reset", self.reset)
        return app

    async def stats(self, request: web.Request) -> web.Response:
        c = self.counters
        return web.json_response(
            {
                "requests": c.requests,
                "completed": c.completed,
                "aborted": c.aborted,
                "active": c.active,
                "queries": c.queries,
                "embeddings": c.embeddings,
                "last_request": c.last_request,
                "last_query_request": c.last_query_request,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.counters = Counters()
        return web.json_response({"ok": True})

    def _authorised(self, request: web.Request) -> bool:
        key = self.behaviour.api_key
        if not key:
            return True
        return (
            request.headers.get("Authorization") == f"Bearer {key}"
            or request.headers.get("api-key") == key
        )

    async def embeddings(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "invalid_api_key", "Incorrect API key.")
        body = orjson.loads(await request.read())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.counters.embeddings += len(inputs)
        if any("#embedhang" in text for text in inputs):
            await asyncio.sleep(3600)
        data = [
            {"object": "embedding", "index": i, "embedding": embed(text)}
            for i, text in enumerate(inputs)
        ]
        return web.json_response(
            {"object": "list", "data": data, "model": body.get("model", ""), "usage": {}},
            dumps=lambda v: orjson.dumps(v).decode(),
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        c = self.counters
        c.requests += 1
        if not self._authorised(request):
            return _error(401, "invalid_api_key", "Incorrect API key.")
        body = orjson.loads(await request.read())
        messages = body.get("messages", [])
        question = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        c.last_request = {
            "path": request.path,
            "auth_scheme": request.headers.get("Authorization", " ").split(" ")[0],
            "has_api_key_header": "api-key" in request.headers,
            "model": body.get("model"),
            "messages": messages,
            "stream": body.get("stream", False),
            "temperature": body.get("temperature"),
        }
        if sum(len(m.get("content") or "") for m in messages) > self.behaviour.context_limit_chars:
            return _error(400, "context_length_exceeded", "This model's maximum context length.")
        if "#429long" in question:
            return _error(429, "rate_limit_exceeded", "Rate limit.", {"Retry-After": "30"})
        if "#429" in question:
            return _error(429, "rate_limit_exceeded", "Rate limit.", {"Retry-After": "1"})
        if "#500" in question:
            return _error(500, "server_error", "The server had an error.")
        if "#flaky" in question:
            c.seen[question] = c.seen.get(question, 0) + 1
            if c.seen[question] == 1:
                return _error(503, "overloaded", "Overloaded.")
        if "#hang" in question:
            await asyncio.sleep(3600)
        if is_query_request(body):
            if wait := _seconds("querywait", question):
                await asyncio.sleep(wait)
            c.queries += 1
            c.last_query_request = c.last_request
            return self._completion(body, question, query_for(question))
        if not body.get("stream"):
            return self._completion(body, question)
        return await self._stream(request, body, question)

    def _completion(
        self, body: dict[str, Any], question: str, text: str | None = None
    ) -> web.Response:
        if text is None:
            text = "".join(answer_words(question, self.behaviour.chunks))
        self.counters.completed += 1
        return web.json_response(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "standin"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )

    async def _stream(
        self, request: web.Request, body: dict[str, Any], question: str
    ) -> web.StreamResponse:
        b = self.behaviour
        gap = b.chunk_gap_ms / 1000
        pieces = answer_words(question, b.chunks)
        if "#slow" in question:
            gap, pieces = 0.1, answer_words(question, 80)
        elif "#xss" in question:
            pieces = _pieces(XSS_ANSWER)
        elif "#markdown" in question:
            pieces = _pieces(MARKDOWN_ANSWER)
        model = body.get("model", "standin")
        created = int(time.time())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        c = self.counters
        c.active += 1
        try:
            await response.prepare(request)
            # Azure OpenAI's first chunk: prompt filter results and no choices.
            await response.write(
                b'data: {"choices":[],"created":0,"id":"","model":"","object":"",'
                b'"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n'
            )
            await asyncio.sleep(_seconds("firstword", question) or b.first_token_ms / 1000)
            await response.write(_chunk(model, created, delta={"role": "assistant", "content": ""}))
            for index, piece in enumerate(pieces):
                if index and gap:
                    await asyncio.sleep(gap)
                if index == 5 and "#cut" in question:
                    request.transport.close()  # drop the connection mid-answer
                    c.aborted += 1
                    return response
                if index == 3 and "#stall" in question:
                    await asyncio.sleep(3600)
                shape = re.search(r"#shape-(\w+)", question)
                if index == 4 and shape:
                    await response.write(b"data: " + MALFORMED_EVENTS[shape[1]] + b"\n\n")
                if index == 4 and "#error" in question:
                    await response.write(
                        b'data: {"error":{"message":"The server had an error",'
                        b'"type":"server_error"}}\n\n'
                    )
                    await response.write_eof()
                    c.completed += 1
                    return response
                await response.write(_chunk(model, created, delta={"content": piece}))
            if "#linger" in question:
                await asyncio.sleep(0.5)
            finish = "content_filter" if "#filter" in question else "stop"
            # A final chunk without a delta, as Azure sends with its content filter results.
            await response.write(_chunk(model, created, finish_reason=finish))
            usage = {
                "prompt_tokens": 10,
                "completion_tokens": len(pieces),
                "total_tokens": 10 + len(pieces),
            }
            await response.write(
                b'data: {"id":"chatcmpl-standin","object":"chat.completion.chunk","choices":[],'
                b'"usage":' + orjson.dumps(usage) + b"}\n\ndata: [DONE]\n\n"
            )
            await response.write_eof()
            c.completed += 1
            return response
        except (ConnectionResetError, asyncio.CancelledError):
            c.aborted += 1
            raise
        finally:
            c.active -= 1


def _seconds(directive: str, question: str) -> float:
    """N from a `#directiveN` in the question; 0 when there is none."""
    found = re.search(rf"#{directive}(\d+(?:\.\d+)?)", question)
    return float(found.group(1)) if found else 0.0


def embed(text: str, dimensions: int = 64) -> list[float]:
    """A deterministic unit vector from the text's words: similar texts get similar vectors."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest, "little") % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": code, "code": code}},
        status=status,
        headers=headers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--first-token-ms", type=float, default=Behaviour.first_token_ms)
    parser.add_argument("--chunk-gap-ms", type=float, default=Behaviour.chunk_gap_ms)
    parser.add_argument("--chunks", type=int, default=Behaviour.chunks)
    parser.add_argument("--context-limit-chars", type=int, default=Behaviour.context_limit_chars)
    parser.add_argument("--api-key", default=os.environ.get("STANDIN_API_KEY", ""))
    args = parser.parse_args()
    behaviour = Behaviour(
        first_token_ms=args.first_token_ms,
        chunk_gap_ms=args.chunk_gap_ms,
        chunks=args.chunks,
        context_limit_chars=args.context_limit_chars,
        api_key=args.api_key,
    )
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(StandInModel(behaviour).app(), args.host, args.port))
    else:
        uvloop.run(serve(StandInModel(behaviour).app(), args.host, args.port))


if __name__ == "__main__":
    main()
