"""The model mocked the way the field does it: real `ChatCompletionChunk` objects, one per word,
for `stream=True`, and a `ChatCompletion` otherwise, the answer chosen by the last message; a
search-query request (the query-generation prompt) gets a query back, and `/embeddings` real
`CreateEmbeddingResponse` objects with deterministic vectors. `/responses` answers the same way
with the Responses API's typed objects: its stream events (reasoning summary parts first when
they are asked for) and a `Response`.

The objects (built in `openai_mock_chat.py` and `openai_mock_responses.py`) are serialised
exactly as the API sends them and served over real HTTP by a loopback server in the test's own
event loop, so the code under test runs as in production: the streamed answer is read raw off
the connection, and the SDK sends and parses the other calls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from chat_api.prompt import QUERY_SYSTEM
from standins.model_answers import query_for
from tests.support.openai_mock_chat import chunks_for, completion_for, embeddings_for, sse
from tests.support.openai_mock_responses import response_events_for, response_for, response_sse

Answer = Callable[[list[dict[str, Any]]], str]


def default_answer(messages: list[dict[str, Any]]) -> str:
    question = messages[-1]["content"]
    return f"You asked: {question}"


def default_query(messages: list[dict[str, Any]]) -> str:
    """The search query the mock writes: the question's words, lowercased."""
    return query_for(messages[-1]["content"])


def is_query_prompt(messages: list[dict[str, Any]]) -> bool:
    return bool(messages) and messages[0] == {"role": "system", "content": QUERY_SYSTEM}


class MockModel:
    """Answers chat completion requests sent through the SDK; records what it was sent."""

    def __init__(self, answer: Answer = default_answer, query: Answer = default_query) -> None:
        self.answer = answer
        self.query = query
        self.requests: list[dict[str, Any]] = []
        self.headers: list[Any] = []
        self.urls: list[str] = []
        self.peers: list[object] = []  # the client's address and port, one per request
        # Status replies to give before answering, e.g. [(429, {"retry-after": "2"})].
        self.failures: list[tuple[int, dict[str, str]]] = []
        # Error bodies for those replies, in the same order (default: a generic one).
        self.failure_bodies: list[dict[str, Any]] = []
        self.gzip = False  # compress streamed answers, as some proxies do
        # Seconds between streamed events, as a model produces them; 0 sends them in one go.
        self.chunk_gap = 0.002
        # What a reasoning model thinks before answering, streamed as summary parts when the
        # request asks for summaries.
        self.thinking: tuple[str, ...] = ("Reading the question.", "Choosing the words.")
        # Raw server-sent events to send instead of the next streamed answer (failures, odd
        # shapes), each written as one network read.
        self.script: list[bytes] | None = None
        # A JSON body to send instead of every non-streamed reply (a malformed one, say).
        self.raw_reply: Any = None
        # Drop the connection after this many streamed events, as a failing upstream does.
        self.cut_after: int | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.requests.append(body)
        self.headers.append(request.headers)
        self.urls.append(str(request.url))
        self.peers.append(
            request.transport.get_extra_info("peername") if request.transport else None
        )
        if self.failures:
            status, headers = self.failures.pop(0)
            error = (
                self.failure_bodies.pop(0)
                if self.failure_bodies
                else {"error": {"code": "mock", "message": "mock"}}
            )
            return web.json_response(error, status=status, headers=headers)
        if self.raw_reply is not None:
            return web.json_response(self.raw_reply)
        if request.path.endswith("/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return web.json_response(
                embeddings_for(texts, body.get("model", "")).model_dump(mode="json")
            )
        if request.path.endswith("/responses"):
            return await self._respond(request, body)
        if is_query_prompt(body["messages"]):
            text = self.query(body["messages"])
        else:
            text = self.answer(body["messages"])
        if not body.get("stream"):
            return web.json_response(completion_for(text).model_dump(mode="json"))
        return await self._stream(request, sse(chunks_for(text)))

    async def _respond(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """The Responses API: the system prompt comes as `instructions`, the rest as `input`."""
        messages = [{"role": "system", "content": body.get("instructions", "")}, *body["input"]]
        text = self.query(messages) if is_query_prompt(messages) else self.answer(messages)
        summary = (body.get("reasoning") or {}).get("summary")
        thinking = self.thinking if summary else ()
        if not body.get("stream"):
            return web.json_response(response_for(text, thinking=thinking).model_dump(mode="json"))
        return await self._stream(
            request, response_sse(response_events_for(text, thinking=thinking))
        )

    async def _stream(self, request: web.Request, events: list[bytes]) -> web.StreamResponse:
        if self.script is not None:
            events, self.script = self.script, None
        if self.cut_after is not None:
            events = events[: self.cut_after]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        if self.gzip:
            response.enable_compression(web.ContentCoding.gzip)
        await response.prepare(request)
        if self.chunk_gap:
            for event in events:
                await response.write(event)
                await asyncio.sleep(self.chunk_gap)
        else:
            await response.write(b"".join(events))
        if self.cut_after is not None and request.transport is not None:
            request.transport.close()  # no end of the chunked body: the client sees it cut
            return response
        await response.write_eof()
        return response

    async def start(self) -> TestServer:
        """Serve on a free loopback port; `base_url` is then the API's base URL."""
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        self.url = str(self.server.make_url("")).rstrip("/")
        self.base_url = self.url + "/v1"
        return self.server

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Chat Completions and Responses requests, in order."""
        return [
            r
            for r, url in zip(self.requests, self.urls, strict=True)
            if not url.endswith("/embeddings")
        ]

    @property
    def query_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.chat_requests if _is_query_request(r)]

    @property
    def answer_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.chat_requests if not _is_query_request(r)]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        return [
            r
            for r, url in zip(self.requests, self.urls, strict=True)
            if url.endswith("/embeddings")
        ]


def _is_query_request(body: dict[str, Any]) -> bool:
    if "messages" in body:
        return is_query_prompt(body["messages"])
    return body.get("instructions") == QUERY_SYSTEM
