"""The model mocked the way the field does it: real `ChatCompletionChunk` objects, one per word,
for `stream=True`, and a `ChatCompletion` otherwise, the answer chosen by the last message; a
search-query request (the query-generation prompt) gets a query back, and `/embeddings` real
`CreateEmbeddingResponse` objects with deterministic vectors.

The objects are serialised exactly as the API sends them and served over real HTTP by a
loopback server in the test's own event loop, so the code under test runs as in production: the
streamed answer is read raw off the connection, and the SDK sends and parses the other calls.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from openai.types import CreateEmbeddingResponse, Embedding
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.chat_completion import Choice as CompletionChoice
from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta
from openai.types.chat.chat_completion_message import ChatCompletionMessage
from openai.types.completion_usage import CompletionUsage
from openai.types.create_embedding_response import Usage as EmbeddingUsage

from chat_api.prompt import QUERY_SYSTEM
from tests.support.standin_model import embed, query_for

Answer = Callable[[list[dict[str, Any]]], str]


def default_answer(messages: list[dict[str, Any]]) -> str:
    question = messages[-1]["content"]
    return f"You asked: {question}"


def default_query(messages: list[dict[str, Any]]) -> str:
    """The search query the mock writes: the question's words, lowercased."""
    return query_for(messages[-1]["content"])


def is_query_prompt(messages: list[dict[str, Any]]) -> bool:
    return bool(messages) and messages[0] == {"role": "system", "content": QUERY_SYSTEM}


def embeddings_for(texts: list[str], model: str) -> CreateEmbeddingResponse:
    return CreateEmbeddingResponse(
        object="list",
        model=model,
        data=[
            Embedding(object="embedding", index=i, embedding=embed(text))
            for i, text in enumerate(texts)
        ],
        usage=EmbeddingUsage(prompt_tokens=len(texts), total_tokens=len(texts)),
    )


def chunks_for(text: str, model: str = "gpt-4o-mini") -> list[ChatCompletionChunk]:
    """A streamed answer with Azure OpenAI's quirks: a first chunk with no choices (prompt
    filter results), a role-only chunk, one chunk per word, a chunk whose delta is None, the
    finish chunk, and a usage chunk."""
    created = int(time.time())

    def chunk(choices: list[Choice], **extra: Any) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id="chatcmpl-mock",
            object="chat.completion.chunk",
            created=created,
            model=model,
            choices=choices,
            **extra,
        )

    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    out = [chunk([])]
    out.append(chunk([Choice(index=0, delta=ChoiceDelta(role="assistant", content=""))]))
    out += [chunk([Choice(index=0, delta=ChoiceDelta(content=p))]) for p in pieces]
    out.append(chunk([Choice.model_construct(index=0, delta=None, finish_reason=None)]))
    out.append(chunk([Choice(index=0, delta=ChoiceDelta(), finish_reason="stop")]))
    usage = CompletionUsage(
        prompt_tokens=7, completion_tokens=len(pieces), total_tokens=7 + len(pieces)
    )
    out.append(chunk([], usage=usage))
    return out


def completion_for(text: str, model: str = "gpt-4o-mini") -> ChatCompletion:
    return ChatCompletion(
        id="chatcmpl-mock",
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[
            CompletionChoice(
                index=0,
                finish_reason="stop",
                message=ChatCompletionMessage(role="assistant", content=text),
            )
        ],
    )


def sse(chunks: list[ChatCompletionChunk]) -> list[bytes]:
    """Server-sent events as the API writes them, one network read each."""
    events = [b"data: " + c.model_dump_json(exclude_unset=True).encode() + b"\n\n" for c in chunks]
    return [*events, b"data: [DONE]\n\n"]


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
        self.gzip = False  # compress streamed answers, as some proxies do
        # Seconds between streamed events, as a model produces them; 0 sends them in one go.
        self.chunk_gap = 0.002
        # Drop the connection after this many streamed events, as a failing upstream does.
        self.cut_after: int | None = None
        # A JSON body to send instead of every non-streamed reply (a malformed one, say).
        self.raw_reply: Any = None

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
            return web.json_response(
                {"error": {"code": "mock", "message": "mock"}}, status=status, headers=headers
            )
        if self.raw_reply is not None:
            return web.json_response(self.raw_reply)
        if request.path.endswith("/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return web.json_response(
                embeddings_for(texts, body.get("model", "")).model_dump(mode="json")
            )
        if is_query_prompt(body["messages"]):
            text = self.query(body["messages"])
        else:
            text = self.answer(body["messages"])
        if not body.get("stream"):
            return web.json_response(completion_for(text).model_dump(mode="json"))
        events = sse(chunks_for(text))
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
        return [r for r in self.requests if "messages" in r]

    @property
    def query_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.chat_requests if is_query_prompt(r["messages"])]

    @property
    def answer_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.chat_requests if not is_query_prompt(r["messages"])]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "input" in r]
