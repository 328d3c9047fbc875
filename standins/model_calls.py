"""What every model call to the stand-in model goes through, whichever API it comes by: the key
check, the record of the call in the counters (`Counters`, read at GET /_stats), the 400 for a
parameter the model refuses, the faults a question's directives ask for, the answer's pieces and
pace, and the ways a streamed answer breaks off.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from standins import model_response_stream
from standins.model_answers import (
    MARKDOWN_ANSWER,
    XSS_ANSWER,
    answer_words,
    pieces_of,
    seconds,
)


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
    # Tokens the Responses API stand-in would bill: each answer's prompt (10) and everything it
    # wrote or thought, up to where the answer ended or its caller left.
    served_tokens: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    last_request: dict[str, Any] = field(default_factory=dict)
    last_query_request: dict[str, Any] = field(default_factory=dict)


class ModelCalls:
    """The state both APIs share (behaviour, counters, the `/_release` and `/_deny` gates) and
    the steps of a call they have in common."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.counters = Counters()
        self.released = asyncio.Semaphore(0)
        self.deny_next = 0

    def _received(
        self, request: web.Request, body: dict[str, Any], messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """What either API's call records of itself in `last_request`: its path, how it
        authenticated, the model, the messages and the common parameters."""
        return {
            "path": request.path,
            "auth_scheme": request.headers.get("Authorization", " ").split(" ")[0],
            "has_api_key_header": "api-key" in request.headers,
            "model": body.get("model"),
            "messages": messages,
            "stream": body.get("stream", False),
            "temperature": body.get("temperature"),
        }

    async def _search_query(self, question: str) -> None:
        """A search-query call, as slow as `#querywaitN` or held by `#queryheld`, counted."""
        if wait := seconds("querywait", question):
            await asyncio.sleep(wait)
        if "#queryheld" in question:
            await self.released.acquire()
        c = self.counters
        c.queries += 1
        c.last_query_request = c.last_request

    def _authorised(self, request: web.Request) -> bool:
        key = self.behaviour.api_key
        if not key:
            return True
        return (
            request.headers.get("Authorization") == f"Bearer {key}"
            or request.headers.get("api-key") == key
        )

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
        refused = model_response_stream.refused_parameter(body, api)
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
        return error_response(
            400,
            "unsupported_parameter",
            f"Unsupported parameter: '{parameter}' is not supported with this model.",
        )

    async def _fault(
        self, messages: list[dict[str, Any]], question: str
    ) -> web.StreamResponse | None:
        """The faults both APIs share: an over-long prompt, throttling, errors, hanging."""
        c = self.counters
        limit = self.behaviour.context_limit_chars
        if sum(len(message_text(m.get("content"))) for m in messages) > limit:
            return error_response(
                400, "context_length_exceeded", "This model's maximum context length."
            )
        if "#429long" in question:
            return error_response(429, "rate_limit_exceeded", "Rate limit.", {"Retry-After": "30"})
        if "#429" in question:
            return error_response(429, "rate_limit_exceeded", "Rate limit.", {"Retry-After": "1"})
        if "#500" in question:
            return error_response(500, "server_error", "The server had an error.")
        if "#flaky" in question:
            c.seen[question] = c.seen.get(question, 0) + 1
            if c.seen[question] == 1:
                return error_response(503, "overloaded", "Overloaded.")
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

    def _answer(self, question: str) -> tuple[list[str], float]:
        """The answer's pieces for a question, and the seconds between them."""
        b = self.behaviour
        if "#slow" in question:
            return answer_words(question, 80), 0.1
        if "#xss" in question:
            return pieces_of(XSS_ANSWER), b.chunk_gap_ms / 1000
        if "#markdown" in question:
            return pieces_of(MARKDOWN_ANSWER), b.chunk_gap_ms / 1000
        return answer_words(question, b.chunks), b.chunk_gap_ms / 1000

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


def message_text(content: object) -> str:
    """A message's text: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": code, "code": code}},
        status=status,
        headers=headers,
    )
