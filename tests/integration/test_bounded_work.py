"""Bounded work per answer over real HTTP: what reaches the stand-in model fits the prompt
budget whatever the client sends."""

from __future__ import annotations

import httpx

from chat_api.prompt import QUERY_MESSAGE_CHARS, estimate_tokens
from tests.support.ndjson import question

BUDGET = 12_000  # CHAT_MAX_HISTORY_TOKENS: the whole prompt's estimated size


def _tokens(messages: list[dict]) -> int:
    return sum(estimate_tokens(m["content"]) for m in messages)


def test_a_maximal_question_with_twenty_passages_reaches_the_model_within_the_budget(
    start_app, model_server
):
    long_question = "How does NDJSON streaming work? " + "detail " * 4_500  # ~31,500 chars
    body = question(long_question, "earlier " * 4_000, "answer " * 4_500)
    body["context"]["overrides"] = {"top": 20}
    with start_app({"CHAT_RETRIEVAL": "local"}) as app:
        model_server.reset()

        response = httpx.post(app.url + "/api/chat/stream", json=body, timeout=30)
        stats = model_server.stats()

    assert response.status_code == 200
    sent = stats["last_request"]["messages"]
    assert _tokens(sent) <= BUDGET
    assert sent[-1]["content"] == long_question  # the question itself is never cut
    query_messages = stats["last_query_request"]["messages"]
    assert all(len(m["content"]) <= QUERY_MESSAGE_CHARS + 3 for m in query_messages)


def test_a_question_alone_over_the_budget_gets_413_before_any_model_call(start_app, model_server):
    with start_app({"CHAT_MAX_HISTORY_TOKENS": "1000", "CHAT_RETRIEVAL": "local"}) as app:
        model_server.reset()

        response = httpx.post(app.url + "/api/chat/stream", json=question("q " * 3_000))

        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        assert model_server.stats()["requests"] == 0  # no search query, no answer
