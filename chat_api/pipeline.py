"""The chat flow as one async generator of events. Every route and mode consumes it.

With retrieval: the question is received; the search query is the question itself, or for a
follow-up one the model writes from the conversation (offline: its keywords); the search runs;
what was found is cited (or, when nothing is relevant, the answer is declined with no model
call); then the model answers from it. Each stage is a progress step, with the milliseconds
since the question came.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import replace

from chat_api import errors, model_errors
from chat_api.events import (
    Citation,
    Citations,
    End,
    Event,
    Failure,
    Step,
    TextDelta,
    close_events,
)
from chat_api.hosts import ModelHost
from chat_api.prompt import Prompt, build_prompt, ensure_question_fits, question_query
from chat_api.protocol import ChatRequest, Message
from chat_api.retrieval import Found, Passage, Retriever
from chat_api.settings import Settings
from chat_api.telemetry import RequestTrace, no_trace
from chat_api.usage import CallTally

log = logging.getLogger(__name__)

SNIPPET_CHARS = 240
SEARCH_FAILED_STEP = "Search unavailable"
SEARCH_FAILED_DETAIL = "The search service failed, so this answer does not use the documents."
RANKER_OFF_STEP = "Searched without the semantic ranker"
NOTHING_RELEVANT_STEP = "Nothing relevant found"
NOTHING_RELEVANT_DETAIL = "Nothing found is close enough to the question, so no model is asked."
NOTHING_RELEVANT = (
    "I found nothing on this in the documentation I search, so I will not guess an answer."
)
CLOSEST_PAGES = 3


async def stream_chat(
    request: ChatRequest,
    *,
    settings: Settings,
    host: ModelHost,
    retriever: Retriever | None,
    trace: RequestTrace | None = None,
    calls: CallTally | None = None,
) -> AsyncGenerator[Event, None]:
    """Answer the conversation's last question: progress steps, citations, the answer's text
    deltas, then End; or Failure as the last event. Never raises, except cancellation.
    Each stage runs inside its span of `trace`; what the model calls before the answer spend
    (the search query, the question's embedding) is counted in `calls`."""
    trace = trace or no_trace()
    calls = calls or CallTally()
    started = time.perf_counter()
    question = request.messages[-1].content
    try:
        ensure_question_fits(question, settings.limits.max_history_tokens)
        yield Step("Question received", _shorten(question, 120), _ms(started))
        sources: list[Passage] = []
        if retriever is not None and request.context.overrides.retrieval is not False:
            search = _search(request, settings, host, retriever, trace, calls, started, sources)
            async for event in search:
                yield event
                if isinstance(event, End):  # declined: nothing relevant, no model asked
                    return
        prompt = _prompt(request, settings, sources)
        if prompt.sources:  # those that fit the prompt budget, so every citation was read
            yield Citations(citations(list(prompt.sources)))
        trace.model_stage(host.model, prompt)  # its span is current from the next event on
        yield Step("Generating the answer", host.model, _ms(started))
        answer = host.stream_answer(prompt)
        try:
            async for event in answer:
                if type(event) is Step:  # the model's thinking, timed like every other step
                    event = replace(event, elapsed_ms=_ms(started))
                elif type(event) is End:  # a complete answer: feedback refers to it by its id
                    event = replace(event, answer_id=new_answer_id())
                yield event
        finally:
            await close_events(answer)  # the model's connection closes now if the client left
    except Exception as exc:
        failure = model_errors.from_exception(exc)
        log.warning("answer failed: %s (ref %s)", failure.code, trace.ref)
        yield Failure(failure, trace.ref)


async def _search(
    request: ChatRequest,
    settings: Settings,
    host: ModelHost,
    retriever: Retriever,
    trace: RequestTrace,
    calls: CallTally,
    started: float,
    sources: list[Passage],
) -> AsyncGenerator[Event, None]:
    """The search query, the search and what it found, as progress steps; the passages found
    are added to `sources`. A failed search raises, unless the settings say to go on. When
    nothing found is relevant enough (and the settings say to decline), the declined answer
    follows, ending with its End."""
    overrides, page = request.context.overrides, request.context.page
    query = await search_query(request.messages, host, trace, calls)
    yield Step("Searching the knowledge base", query, _ms(started))
    try:
        with trace.search_stage(retriever.name, query) as stage, calls.counting():
            found = await retriever.search(
                query,
                top=overrides.top or settings.retrieval_top,
                # The ranker is billed per query (and the free tier's quota, once spent,
                # fails searches): a request may turn it off, never on.
                semantic_ranker=False if overrides.semantic_ranker is False else None,
                page=page.url if page is not None else "",
            )
            stage.result(count=len(found))
    except errors.ChatError as error:
        if error.code != errors.SEARCH_UNAVAILABLE or settings.search_failure != "continue":
            raise
        yield Step(SEARCH_FAILED_STEP, SEARCH_FAILED_DETAIL, _ms(started))
        return
    if isinstance(found, Found) and found.note:
        yield Step(RANKER_OFF_STEP, found.note, _ms(started))
    titles = "; ".join(p.title for p in found) if found else "nothing found"
    noun = "source" if len(found) == 1 else "sources"
    yield Step(f"Found {len(found)} {noun}", titles, _ms(started))
    sources.extend(found)
    if settings.no_source_answer == "decline" and not any(p.relevant for p in found):
        for event in declined(found, _ms(started)):
            yield event


async def search_query(
    messages: list[Message],
    host: ModelHost,
    trace: RequestTrace | None = None,
    calls: CallTally | None = None,
) -> str:
    """What to search for. A conversation's first question is its own query: no model call, so
    a question the documents cannot answer is declined for nothing, and the first answer starts
    one model round trip sooner. A follow-up ("and what does it cost?") means little alone, so
    the model writes its query from the conversation."""
    if sum(1 for m in messages if m.role == "user") == 1:
        return question_query(messages[-1].content)
    trace, calls = trace or no_trace(), calls or CallTally()
    with trace.query_stage(host.model, messages[-1].content) as stage, calls.counting():
        query = await host.generate_query(messages)
        stage.result(query)
    return query


def _prompt(request: ChatRequest, settings: Settings, sources: list[Passage]) -> Prompt:
    temperature = request.context.overrides.temperature
    return build_prompt(
        request.messages,
        sources,
        budget_tokens=settings.limits.max_history_tokens,
        temperature=settings.temperature if temperature is None else temperature,
        page=request.context.page,
    )


def declined(sources: list[Passage], elapsed_ms: int) -> Iterator[Event]:
    """The answer when nothing found is relevant enough: said plainly, with the closest pages
    found (one passage per page) as citations, and no model call, so nothing is paid."""
    yield Step(NOTHING_RELEVANT_STEP, NOTHING_RELEVANT_DETAIL, elapsed_ms)
    closest = closest_pages(sources)
    text = NOTHING_RELEVANT
    if closest:
        yield Citations(citations(closest))
        named = "; ".join(f"{p.title} [{n}]" for n, p in enumerate(closest, start=1))
        text += f" The closest pages I found: {named}."
    yield TextDelta(text)
    yield End("stop", {}, answer_id=new_answer_id(), no_source=True)


def new_answer_id() -> str:
    """A complete answer's own id: what a rating of it refers to."""
    return secrets.token_hex(12)


def closest_pages(sources: list[Passage]) -> list[Passage]:
    """The best passage of each page found, best page first."""
    best: dict[str, Passage] = {}
    for passage in sources:
        best.setdefault(passage.document, passage)
    return list(best.values())[:CLOSEST_PAGES]


def citations(sources: list[Passage]) -> tuple[Citation, ...]:
    """The sources as citations numbered from 1, in the order the prompt numbers them, so the
    answer's [1], [2] point at `context.citations` ids "1", "2"."""
    return tuple(citation(number, p) for number, p in enumerate(sources, start=1))


def citation(number: int, passage: Passage) -> Citation:
    snippet = passage.snippet or passage.text
    return Citation(
        id=str(number),
        title=passage.title,
        url=passage.url or passage.source,
        snippet=_shorten(" ".join(snippet.split()), SNIPPET_CHARS),
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
