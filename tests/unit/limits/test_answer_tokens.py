"""What an answer counts against the tokens per day: the streamed answer's tokens and those of
the model calls before it, the search query the model writes and the question's embedding. The
real OpenAI host talks to the mocked model over loopback HTTP; Azure AI Search is faked."""

from __future__ import annotations

from typing import Any

import orjson

from chat_api.limits.answer import prompt_tokens
from chat_api.protocol import ChatRequest
from chat_api.reply import Reply
from chat_api.service import ChatService
from tests.support.ndjson import question
from tests.support.openai_mock_chat import COMPLETION_PROMPT_TOKENS
from tests.unit.test_pipeline import SETTINGS  # the OpenAI host, Azure AI Search

# A follow-up, so the model writes its search query (a first question is its own query).
HISTORY = ("Does it stream?", "Yes.")
QUESTION = "What does it cost?"
# The mocked model's figures for it: the answer "You asked: What does it cost?" reads 7 tokens and
# writes one per word (6); the search query "what does it cost" reads COMPLETION_PROMPT_TOKENS and
# writes 4; the query's embedding reads 1.
ANSWER_TOKENS = 7 + 6
QUERY_TOKENS = COMPLETION_PROMPT_TOKENS + 4
EMBEDDING_TOKENS = 1
# What admission reserves for an answer (its prompt's estimate and its output cap): a limit must
# leave room for it. Refused when what was spent and the reservation are over the limit.
OUTPUT_CAP = 100
RESERVED = prompt_tokens(ChatRequest.model_validate(question(QUESTION, *HISTORY)), 0) + OUTPUT_CAP


def _service(opened: Any, tokens_per_day: int, **changes: Any) -> ChatService:
    settings = SETTINGS.model_copy(
        update=dict(
            client_tokens_per_day=tokens_per_day,
            client_requests_per_minute=0,
            max_output_tokens=OUTPUT_CAP,
            **changes,
        )
    )
    return opened.service(settings)


async def _ask(service: ChatService) -> tuple[Reply, list[dict[str, Any]]]:
    reply = await service.stream("application/json", orjson.dumps(question(QUESTION, *HISTORY)))
    if isinstance(reply.body, bytes):
        return reply, [orjson.loads(reply.body)]
    return reply, [orjson.loads(line) async for line in reply.body]


async def test_the_search_query_call_counts_towards_the_client_tokens_per_day(
    opened, mock_model, fake_search
):
    # The answer alone leaves room for another; with its search query it does not.
    service = _service(opened, tokens_per_day=ANSWER_TOKENS + QUERY_TOKENS + RESERVED - 1)

    first, lines = await _ask(service)
    second, refusal = await _ask(service)

    assert first.status == 200
    assert lines[-1]["context"]["usage"]["total_tokens"] == ANSWER_TOKENS
    assert second.status == 429
    assert refusal[0]["error"]["code"] == "rate_limited"


async def test_the_question_embedding_counts_towards_the_client_tokens_per_day(
    opened, mock_model, fake_search
):
    limit = ANSWER_TOKENS + QUERY_TOKENS + EMBEDDING_TOKENS + RESERVED - 1
    service = _service(opened, tokens_per_day=limit, openai_embedding_model="emb-model")

    first, _ = await _ask(service)
    second, _ = await _ask(service)

    assert first.status == 200
    assert second.status == 429


async def test_each_call_is_counted_once(opened, mock_model, fake_search):
    # Two answers with all their calls leave just room for a third.
    limit = 2 * (ANSWER_TOKENS + QUERY_TOKENS + EMBEDDING_TOKENS) + RESERVED
    service = _service(opened, tokens_per_day=limit, openai_embedding_model="emb-model")

    replies = [(await _ask(service))[0] for _ in range(4)]

    assert [reply.status for reply in replies] == [200, 200, 200, 429]
