"""The model mocked the way the field does it: real `ChatCompletionChunk` objects, one per word,
for `stream=True`, and a `ChatCompletion` otherwise, the answer chosen by the last message; a
search-query request (the query-generation prompt) gets a query back, and `/embeddings` real
`CreateEmbeddingResponse` objects with deterministic vectors. `/responses` answers the same way
with the Responses API's typed objects: its stream events (reasoning summary parts first when
they are asked for) and a `Response`.

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
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseCreatedEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_reasoning_item import Summary
from openai.types.responses.response_reasoning_summary_part_added_event import (
    Part as SummaryPart,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

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


# What a non-streamed completion says it read (the search query's call, say).
COMPLETION_PROMPT_TOKENS = 41


def completion_for(text: str, model: str = "gpt-4o-mini") -> ChatCompletion:
    output = len(text.split())
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
        usage=CompletionUsage(
            prompt_tokens=COMPLETION_PROMPT_TOKENS,
            completion_tokens=output,
            total_tokens=COMPLETION_PROMPT_TOKENS + output,
        ),
    )


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def response_for(
    text: str, model: str = "gpt-5.4-mini", thinking: tuple[str, ...] = ()
) -> Response:
    """A finished Responses API answer: its reasoning summary (if any), then the message."""
    output: list[Any] = []
    if thinking:
        output.append(
            ResponseReasoningItem(
                id="rs_mock",
                type="reasoning",
                summary=[Summary(text=t, type="summary_text") for t in thinking],
            )
        )
    output.append(
        ResponseOutputMessage(
            id="msg_mock",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )
    )
    reasoning_tokens = sum(len(t.split()) for t in thinking)
    output_tokens = len(text.split()) + reasoning_tokens
    return Response(
        id="resp_mock",
        object="response",
        created_at=time.time(),
        model=model,
        status="completed",
        output=output,
        parallel_tool_calls=False,
        tool_choice="auto",
        tools=[],
        usage=ResponseUsage(
            input_tokens=7,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens=output_tokens,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning_tokens),
            total_tokens=7 + output_tokens,
        ),
    )


def response_events_for(
    text: str, model: str = "gpt-5.4-mini", thinking: tuple[str, ...] = ()
) -> list[Any]:
    """The Responses API's stream for that answer, event by event, as the service sends it."""
    final = response_for(text, model, thinking)
    started = final.model_copy(update={"status": "in_progress", "output": [], "usage": None})
    events: list[Any] = [
        ResponseCreatedEvent(type="response.created", response=started, sequence_number=0)
    ]

    def add(event_type: type, **fields: Any) -> None:
        events.append(event_type(sequence_number=len(events), **fields))

    index = 0
    if thinking:
        reasoning = final.output[0]
        add(ResponseOutputItemAddedEvent, type="response.output_item.added", output_index=0,
            item=reasoning.model_copy(update={"summary": []}))  # fmt: skip
        for part, thought in enumerate(thinking):
            add(ResponseReasoningSummaryPartAddedEvent,
                type="response.reasoning_summary_part.added", item_id="rs_mock",
                output_index=0, summary_index=part,
                part=SummaryPart(text="", type="summary_text"))  # fmt: skip
            for piece in _words(thought):
                add(ResponseReasoningSummaryTextDeltaEvent,
                    type="response.reasoning_summary_text.delta", item_id="rs_mock",
                    output_index=0, summary_index=part, delta=piece)  # fmt: skip
        add(ResponseOutputItemDoneEvent, type="response.output_item.done", output_index=0,
            item=reasoning)  # fmt: skip
        index = 1
    message = final.output[index]
    add(ResponseOutputItemAddedEvent, type="response.output_item.added", output_index=index,
        item=message.model_copy(update={"content": [], "status": "in_progress"}))  # fmt: skip
    add(ResponseContentPartAddedEvent, type="response.content_part.added", item_id="msg_mock",
        output_index=index, content_index=0,
        part=ResponseOutputText(type="output_text", text="", annotations=[]))  # fmt: skip
    for piece in _words(text):
        add(ResponseTextDeltaEvent, type="response.output_text.delta", item_id="msg_mock",
            output_index=index, content_index=0, delta=piece, logprobs=[])  # fmt: skip
    add(ResponseOutputItemDoneEvent, type="response.output_item.done", output_index=index,
        item=message)  # fmt: skip
    add(ResponseCompletedEvent, type="response.completed", response=final)
    return events


def response_sse(events: list[Any]) -> list[bytes]:
    """Responses API events as the service writes them: a name line, a data line, no [DONE]."""
    return [
        b"event: " + e.type.encode() + b"\ndata: " + e.model_dump_json().encode() + b"\n\n"
        for e in events
    ]


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
