"""A stand-in OpenAI-compatible model server that speaks the real protocol over HTTP.

Chat completions stream as server-sent events with the shapes Azure OpenAI and OpenAI send
(Azure's first chunk with empty `choices`, a chunk without `delta`, a usage chunk, `[DONE]`).
`/responses` streams the Responses API's events (`standin_responses.py`): `response.created`,
output items, a reasoning model's summary parts (`response.reasoning_summary_text.delta`) when
the request asks for summaries, `response.output_text.delta`, then `response.completed` with
usage (reasoning tokens included), `response.incomplete`, `response.failed` or `error`.
As the service does, it refuses with a 400 `unsupported_parameter` what a reasoning model (a
gpt-5* or o-series name) does not take (`temperature`, `top_p`, `max_tokens`), and cuts an
answer at its length cap (`max_output_tokens`, `max_completion_tokens`, `max_tokens`): the
Responses API then ends with `response.incomplete`, Chat Completions with `length`.
Behaviour is chosen per request by directives in the last user message, so concurrent tests and
the browser can each ask for what they need:

  #slow      80 chunks 100 ms apart        #cut      a few chunks, then the connection drops
  #429       always 429 + Retry-After: 1   #500      always 500
  #flaky     503 on the first request for this text, then a normal answer
  #hang      never sends a response (also to a search-query request; counted as aborted when
             its caller closes it)                #stall    a few chunks, then silence
  #xss       an answer carrying script, event-handler and javascript: link payloads
  #markdown  headings, a list, code and a link        #filter   ends with content_filter
  #error     an error event in the middle of the stream
  #firstwordN  the first word after N seconds (a slow or thinking model)
  #querywaitN  the search query after N seconds    #429long  429 + Retry-After: 30
  #failed    (Responses) response.failed in the middle of the stream
  #garbled   a text delta that is not a string in the middle of the stream
  #embedhang an embedding request for this text never gets a response
  #shape-X   an event of an unexpected shape in the middle (X: a key of MALFORMED_EVENTS)
  #held      the first word only once POST /_release allows it (a model as slow as the test
             needs, whatever the machine's load)  #queryheld  the search query likewise
  #lockstep  each word after the first only once POST /_release allows it, so a client can
             take the answer one word at a time (Responses: each piece of thinking or text)
  #thinkheld (Responses) nothing after `response.created`, not even a reasoning model's
             thinking, until POST /_release allows it (a silent think as long as the test needs)

A non-streamed request whose system message (Responses: instructions) asks for a search query
is answered with one: the question's words, lowercased, directives kept (`query_for`), so a
search stand-in sees them.

Counters at GET /_stats (requests, completed, aborted, active, queries, embeddings, refused, the
last request, the last search-query request, and `calls`: the parameters of recent model
calls); POST /_reset zeroes them.
POST /_release lets a `#held`, `#thinkheld`, `#queryheld` or `#lockstep` answer send its next
part.
POST /_deny {"count": N} refuses the next N model calls (answers, queries, embeddings) with 403,
as Azure OpenAI does until a new role assignment applies.
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
from aiohttp.typedefs import Handler

from tests.support import standin_responses
from tests.support.serving import serve
from tests.support.standin_responses import HIDDEN_REASONING_TOKENS, ResponseStream

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
    refused: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
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
        self.released = asyncio.Semaphore(0)
        self.deny_next = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[self._denied])
        for prefix in ("/v1", "/openai/v1", "/openai/deployments/{deployment}"):
            app.router.add_post(prefix + "/chat/completions", self.chat)
            app.router.add_post(prefix + "/embeddings", self.embeddings)
        for prefix in ("/v1", "/openai/v1"):
            app.router.add_post(prefix + "/responses", self.responses)
        app.router.add_get("/_stats", self.stats)
        app.router.add_post("/_reset", self.reset)
        app.router.add_post("/_release", self.release)
        app.router.add_post("/_deny", self.deny)
        return app

    @web.middleware
    async def _denied(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.deny_next > 0 and not request.path.startswith("/_"):
            self.deny_next -= 1
            return _error(
                403,
                "PermissionDenied",
                "The principal lacks the required data action.",
            )
        return await handler(request)

    async def deny(self, request: web.Request) -> web.Response:
        self.deny_next = int((await request.json())["count"])
        return web.json_response({"ok": True})

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
                "refused": c.refused,
                "calls": c.calls,
                "last_request": c.last_request,
                "last_query_request": c.last_query_request,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.counters = Counters()
        self.released = asyncio.Semaphore(0)
        return web.json_response({"ok": True})

    async def release(self, request: web.Request) -> web.Response:
        self.released.release()
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
        refusal = await self._refusal(request, body, "chat", messages, question)
        if refusal is not None:
            return refusal
        if is_query_request(body):
            if wait := _seconds("querywait", question):
                await asyncio.sleep(wait)
            if "#queryheld" in question:
                await self.released.acquire()
            c.queries += 1
            c.last_query_request = c.last_request
            return self._completion(body, question, query_for(question))
        if not body.get("stream"):
            return self._completion(body, question)
        return await self._stream(request, body, question)

    async def _refusal(
        self,
        request: web.Request,
        body: dict[str, Any],
        api: str,
        messages: list[dict[str, Any]],
        question: str,
    ) -> web.StreamResponse | None:
        """The call recorded, then what the service would answer instead of answering: a 400
        for a parameter the model refuses, or a fault the question asks for."""
        self._called(request, body)
        refused = standin_responses.refused_parameter(body, api)
        if refused:
            return self._refuse(refused)
        return await self._fault(messages, question)

    def _called(self, request: web.Request, body: dict[str, Any]) -> None:
        """Keep the parameters of the last few hundred model calls, for tests to check."""
        calls = self.counters.calls
        calls.append(
            {
                "path": request.path,
                "model": body.get("model"),
                "stream": bool(body.get("stream")),
                "parameters": sorted(body),
                **{
                    name: body.get(name)
                    for name in (
                        "max_output_tokens",
                        "max_tokens",
                        "max_completion_tokens",
                        "temperature",
                        "reasoning",
                    )
                },
            }
        )
        del calls[:-300]

    def _refuse(self, parameter: str) -> web.Response:
        self.counters.refused += 1
        return _error(
            400,
            "unsupported_parameter",
            f"Unsupported parameter: '{parameter}' is not supported with this model.",
        )

    async def _fault(
        self, messages: list[dict[str, Any]], question: str
    ) -> web.StreamResponse | None:
        """The faults both APIs share: an over-long prompt, throttling, errors, hanging."""
        c = self.counters
        if sum(len(_text(m.get("content"))) for m in messages) > self.behaviour.context_limit_chars:
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
            c.active += 1
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                c.aborted += 1  # the caller closed the request it was waiting on
                raise
            finally:
                c.active -= 1
        return None

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

    def _answer(self, question: str) -> tuple[list[str], float]:
        """The answer's pieces for a question, and the seconds between them."""
        b = self.behaviour
        if "#slow" in question:
            return answer_words(question, 80), 0.1
        if "#xss" in question:
            return _pieces(XSS_ANSWER), b.chunk_gap_ms / 1000
        if "#markdown" in question:
            return _pieces(MARKDOWN_ANSWER), b.chunk_gap_ms / 1000
        return answer_words(question, b.chunks), b.chunk_gap_ms / 1000

    async def _stream(
        self, request: web.Request, body: dict[str, Any], question: str
    ) -> web.StreamResponse:
        b = self.behaviour
        pieces, gap = self._answer(question)
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "content_filter" if "#filter" in question else "stop"
        if cap and len(pieces) > cap:
            pieces, finish = pieces[:cap], "length"
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
                waits_for_release = "#lockstep" if index else "#held"
                if waits_for_release in question:
                    await self.released.acquire()
                elif index and gap:
                    await asyncio.sleep(gap)
                if await self._broke_off(request, index, question):
                    return response
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
                if index == 4 and "#garbled" in question:
                    piece = 42  # type: ignore[assignment]  # not text: a broken or hostile server
                await response.write(_chunk(model, created, delta={"content": piece}))
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

    # ---- The Responses API ---------------------------------------------------------------------

    async def responses(self, request: web.Request) -> web.StreamResponse:
        c = self.counters
        c.requests += 1
        if not self._authorised(request):
            return _error(401, "invalid_api_key", "Incorrect API key.")
        body = orjson.loads(await request.read())
        messages = [{"role": "system", "content": body.get("instructions") or ""}]
        messages += _input_messages(body.get("input"))
        question = next(
            (_text(m["content"]) for m in reversed(messages) if m["role"] == "user"), ""
        )
        c.last_request = {
            "path": request.path,
            "auth_scheme": request.headers.get("Authorization", " ").split(" ")[0],
            "has_api_key_header": "api-key" in request.headers,
            "model": body.get("model"),
            "messages": messages,
            "instructions": body.get("instructions"),
            "input": body.get("input"),
            "stream": body.get("stream", False),
            "store": body.get("store"),
            "temperature": body.get("temperature"),
            "reasoning": body.get("reasoning"),
            "max_output_tokens": body.get("max_output_tokens"),
        }
        refusal = await self._refusal(request, body, "responses", messages, question)
        if refusal is not None:
            return refusal
        if not body.get("stream"):
            text = "".join(answer_words(question, self.behaviour.chunks))
            if "search query" in (body.get("instructions") or "").lower():
                if wait := _seconds("querywait", question):
                    await asyncio.sleep(wait)
                if "#queryheld" in question:
                    await self.released.acquire()
                c.queries += 1
                c.last_query_request = c.last_request
                text = query_for(question)
            c.completed += 1
            return web.json_response(
                standin_responses.finished_response(body, text),
                dumps=lambda v: orjson.dumps(v).decode(),
            )
        return await self._stream_response(request, body, question)

    async def _stream_response(
        self, request: web.Request, body: dict[str, Any], question: str
    ) -> web.StreamResponse:
        b = self.behaviour
        pieces, gap = self._answer(question)
        reasoning = standin_responses.is_reasoning_model(str(body.get("model", "")))
        summary = reasoning and bool((body.get("reasoning") or {}).get("summary"))
        thoughts = _thoughts(question) if summary else []
        cap = body.get("max_output_tokens") or 1_000_000
        used = HIDDEN_REASONING_TOKENS if reasoning else 0
        stream = ResponseStream(body)
        lockstep = "#lockstep" in question
        shown = 0  # thinking and text pieces sent: with #lockstep, each after the first waits
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        c = self.counters
        c.active += 1
        write = response.write
        try:
            await response.prepare(request)
            await write(stream.created())
            await asyncio.sleep(_seconds("firstword", question) or b.first_token_ms / 1000)
            if "#thinkheld" in question:
                await self.released.acquire()
            if reasoning:
                await write(stream.reasoning_started())
                for index, thought in enumerate(thoughts):
                    await write(stream.summary_part_added(index))
                    for piece in _pieces(thought):
                        if lockstep and shown:
                            await self.released.acquire()
                        await write(stream.summary_delta(index, piece))
                        shown += 1
                        used += 1
                        if gap and not lockstep:
                            await asyncio.sleep(gap)
                    await write(stream.summary_part_done(index, thought))
                await write(stream.reasoning_done(thoughts))
            await write(stream.message_started())
            said: list[str] = []
            for index, piece in enumerate(pieces):
                if (index == 0 and "#held" in question) or (lockstep and shown):
                    await self.released.acquire()
                elif index and gap:
                    await asyncio.sleep(gap)
                if used >= cap:
                    text = "".join(said)
                    await write(stream.message_done(text, "incomplete"))
                    tokens = standin_responses.usage(10, used, used - len(said))
                    await write(stream.incomplete(thoughts, text, tokens, "max_output_tokens"))
                    return await self._finished(response)
                if await self._broke_off(request, index, question):
                    return response
                if index == 4 and "#error" in question:
                    await write(stream.error("server_error", "The server had an error."))
                    return await self._finished(response)
                if index == 4 and "#failed" in question:
                    await write(stream.failed("server_error", "The server had an error."))
                    return await self._finished(response)
                if index == 4 and "#garbled" in question:
                    await write(stream.event("response.output_text.delta", delta={"x": 1}))
                await write(stream.text_delta(piece))
                shown += 1
                said.append(piece)
                used += 1
            text = "".join(said)
            tokens = standin_responses.usage(10, used, used - len(said))
            if "#filter" in question:
                await write(stream.incomplete(thoughts, text, tokens, "content_filter"))
                return await self._finished(response)
            await write(stream.message_done(text))
            await write(stream.completed(thoughts, text, tokens))
            return await self._finished(response)
        except (ConnectionResetError, asyncio.CancelledError):
            c.aborted += 1
            raise
        finally:
            c.active -= 1

    async def _broke_off(self, request: web.Request, index: int, question: str) -> bool:
        """#stall goes silent at the fourth piece; #cut drops the connection at the sixth."""
        if index == 3 and "#stall" in question:
            await asyncio.sleep(3600)
        if index == 5 and "#cut" in question:
            assert request.transport is not None
            request.transport.close()  # drop the connection mid-answer
            self.counters.aborted += 1
            return True
        return False

    async def _finished(self, response: web.StreamResponse) -> web.StreamResponse:
        await response.write_eof()
        self.counters.completed += 1
        return response


def _thoughts(question: str) -> list[str]:
    """A reasoning model's summary: two parts, as the service writes them (a bold heading)."""
    topic = " ".join(re.sub(r"#\w+", "", question).split()[:6]) or "the question"
    return [
        f"**Reading the question**\n\nThe user asks: {topic}. I should answer briefly.",
        "**Planning the answer**\n\nI will state the answer first, then one detail.",
    ]


def _input_messages(value: object) -> list[dict[str, Any]]:
    """The Responses API's `input`: a string, or a list of messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [m for m in value or [] if isinstance(m, dict) and "role" in m]


def _text(content: object) -> str:
    """A message's text: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


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
