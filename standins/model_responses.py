"""The stand-in model's Responses API (`/responses`): a non-streamed response (a search query,
when the instructions ask for one), or the answer streamed event by event, a reasoning model's
summary parts first when the request asks for summaries, cut at the length cap, held, failed or
malformed where the question's directives ask for it. The events themselves are built by
`model_response_stream.py`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from standins import model_response_stream
from standins.model_answers import (
    answer_words,
    pieces_of,
    query_for,
    seconds,
    thoughts_for,
)
from standins.model_calls import ModelCalls, error_response, message_text
from standins.model_response_stream import HIDDEN_REASONING_TOKENS, ResponseStream


def _input_messages(value: object) -> list[dict[str, Any]]:
    """The Responses API's `input`: a string, or a list of messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, dict) and "role" in m]


class ResponsesAPI(ModelCalls):
    async def responses(self, request: web.Request) -> web.StreamResponse:
        c = self.counters
        c.requests += 1
        if not self._authorised(request):
            return error_response(401, "invalid_api_key", "Incorrect API key.")
        body = orjson.loads(await request.read())
        messages = [{"role": "system", "content": body.get("instructions") or ""}]
        messages += _input_messages(body.get("input"))
        question = next(
            (message_text(m["content"]) for m in reversed(messages) if m["role"] == "user"), ""
        )
        c.last_request = {
            **self._received(request, body, messages),
            "instructions": body.get("instructions"),
            "input": body.get("input"),
            "store": body.get("store"),
            "reasoning": body.get("reasoning"),
            "max_output_tokens": body.get("max_output_tokens"),
        }
        refusal = await self._refusal(request, body, "responses", messages, question)
        if refusal is not None:
            return refusal
        if not body.get("stream"):
            text = "".join(answer_words(question, self.behaviour.chunks))
            if "search query" in (body.get("instructions") or "").lower():
                await self._search_query(question)
                text = query_for(question)
            c.completed += 1
            return web.json_response(
                model_response_stream.finished_response(body, text),
                dumps=lambda v: orjson.dumps(v).decode(),
            )
        return await self._stream_response(request, body, question)

    async def _stream_response(
        self, request: web.Request, body: dict[str, Any], question: str
    ) -> web.StreamResponse:
        b = self.behaviour
        pieces, gap = self._answer(question)
        reasoning = model_response_stream.is_reasoning_model(str(body.get("model", "")))
        summary = reasoning and bool((body.get("reasoning") or {}).get("summary"))
        thoughts = thoughts_for(question) if summary else []
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
            await asyncio.sleep(seconds("firstword", question) or b.first_token_ms / 1000)
            if "#thinkheld" in question:
                await self.released.acquire()
            if reasoning:
                await write(stream.reasoning_started())
                for index, thought in enumerate(thoughts):
                    await write(stream.summary_part_added(index))
                    for piece in pieces_of(thought):
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
                    tokens = model_response_stream.usage(10, used, used - len(said))
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
            tokens = model_response_stream.usage(10, used, used - len(said))
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
            c.served_tokens += 10 + used

    async def _finished(self, response: web.StreamResponse) -> web.StreamResponse:
        await response.write_eof()
        self.counters.completed += 1
        return response
