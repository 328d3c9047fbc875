"""The stand-in model's Chat Completions API: a non-streamed completion (a search query, when the
system message asks for one), or the answer streamed as server-sent events with the shapes Azure
OpenAI sends (a first chunk with empty `choices`, a chunk without `delta`, a usage chunk,
`[DONE]`), broken off or malformed where the question's directives ask for it.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import orjson
from aiohttp import web

from standins.model_answers import MALFORMED_EVENTS, answer_words, query_for, seconds
from standins.model_calls import ModelCalls, error_response


def is_query_request(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or [{}]
    first = messages[0]
    return (
        not body.get("stream")
        and first.get("role") == "system"
        and "search query" in (first.get("content") or "").lower()
    )


def _chunk(model: str, created: int, **choice: Any) -> bytes:
    body = {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "finish_reason": None, **choice}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


class ChatCompletions(ModelCalls):
    async def chat(self, request: web.Request) -> web.StreamResponse:
        c = self.counters
        c.requests += 1
        if not self._authorised(request):
            return error_response(401, "invalid_api_key", "Incorrect API key.")
        body = orjson.loads(await request.read())
        messages = body.get("messages", [])
        question = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        c.last_request = self._received(request, body, messages)
        refusal = await self._refusal(request, body, "chat", messages, question)
        if refusal is not None:
            return refusal
        if is_query_request(body):
            await self._search_query(question)
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
            await asyncio.sleep(seconds("firstword", question) or b.first_token_ms / 1000)
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
                # Not text: a broken or hostile server.
                garbled = index == 4 and "#garbled" in question
                content: str | int = 42 if garbled else piece
                await response.write(_chunk(model, created, delta={"content": content}))
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
