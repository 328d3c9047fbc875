"""The chat flow as one async generator of events. Every route and mode consumes it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from chat_api import errors
from chat_api.events import Citation, Citations, Event, Failure, Step
from chat_api.hosts import ModelHost
from chat_api.prompt import build_prompt
from chat_api.protocol import ChatRequest
from chat_api.retrieval import Passage, Retriever
from chat_api.retrieval.local import keywords
from chat_api.settings import Settings

DEFAULT_TOP = 3
_SNIPPET_CHARS = 240


async def stream_chat(
    request: ChatRequest,
    *,
    settings: Settings,
    host: ModelHost,
    retriever: Retriever | None,
) -> AsyncIterator[Event]:
    """Answer the conversation's last question: progress steps, citations, the answer's text
    deltas, then End; or Failure as the last event. Never raises, except cancellation."""
    started = time.perf_counter()
    overrides = request.context.overrides
    question = request.messages[-1].content
    try:
        yield Step("Question received", _shorten(question, 120))
        sources: list[Passage] = []
        if retriever is not None and overrides.retrieval is not False:
            query = " ".join(keywords(question)[:12]) or question
            yield Step("Searching the knowledge base", query, _ms(started))
            sources = await retriever.search(query, top=overrides.top or DEFAULT_TOP)
            found = "; ".join(p.title for p in sources) if sources else "nothing found"
            noun = "source" if len(sources) == 1 else "sources"
            yield Step(f"Found {len(sources)} {noun}", found, _ms(started))
            if sources:
                yield Citations(tuple(_citation(n, p) for n, p in enumerate(sources, start=1)))
        prompt = build_prompt(
            request.messages,
            sources,
            budget_tokens=settings.limits.max_history_tokens,
            temperature=overrides.temperature
            if overrides.temperature is not None
            else settings.temperature,
        )
        yield Step("Generating the answer", host.model, _ms(started))
        async for event in host.stream_answer(prompt):
            yield event
    except Exception as exc:
        yield Failure(errors.from_exception(exc))


def _citation(number: int, passage: Passage) -> Citation:
    return Citation(
        id=str(number),
        title=passage.title,
        url=passage.source,
        snippet=_shorten(" ".join(passage.text.split()), _SNIPPET_CHARS),
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
