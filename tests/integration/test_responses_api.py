"""A reasoning model through the Responses API, over real HTTP: the app as a process, the model
the stand-in server, which refuses what a reasoning model refuses and cuts answers at their cap.
Chat Completions for a custom base URL (an Ollama-style server) is checked at the end."""

from __future__ import annotations

import httpx
import pytest

from tests.support.ndjson import (
    answer_text,
    failure,
    live_lines,
    parse_lines,
    question,
    read_until_keepalives,
    read_until_step,
    steps,
)

REASONING_APP = {
    "OPENAI_API_STYLE": "responses",
    "OPENAI_CHAT_MODEL": "gpt-5.4-mini",
    "CHAT_REASONING_EFFORT": "low",
}
REFUSED = {"temperature", "top_p", "max_tokens", "max_completion_tokens"}


@pytest.fixture(scope="module")
def reasoning_app(start_app):
    with start_app(REASONING_APP) as server:
        yield server


@pytest.fixture(scope="module")
def grounded_reasoning_app(start_app):
    """With retrieval over the bundled documents: a search-query call before each answer."""
    with start_app({**REASONING_APP, "CHAT_RETRIEVAL": "local"}) as server:
        yield server


def _stream(app, body: dict) -> list[dict]:
    response = httpx.post(app.url + "/api/chat/stream", json=body, timeout=30)
    assert response.status_code == 200
    return parse_lines(response.content)


def _thoughts(lines: list[dict]) -> dict[str, str]:
    """Each thought's whole text, by step id, joined as the page joins them."""
    whole: dict[str, str] = {}
    for step in steps(lines):
        if step["title"] == "Thinking":
            whole[step["id"]] = whole.get(step["id"], "") + step["detail"]
    return whole


def test_the_thinking_comes_as_steps_before_the_first_words(reasoning_app):
    lines = _stream(reasoning_app, question("What is NDJSON?"))

    first_words = next(i for i, line in enumerate(lines) if line["delta"].get("content"))
    titles = [s["title"] for s in steps(lines[:first_words])]
    assert titles[:2] == ["Question received", "Generating the answer"]
    assert set(titles[2:]) == {"Thinking"}
    thoughts = _thoughts(lines)
    assert list(thoughts) == ["thinking-1", "thinking-2"]
    assert thoughts["thinking-1"].startswith("**Reading the question**")
    assert not steps(lines[first_words:-1])
    assert lines[-1]["context"]["finish_reason"] == "stop"


def test_the_thinking_is_on_the_wire_while_the_model_is_still_thinking(reasoning_app, model_server):
    model_server.reset()
    # The stand-in holds its first word until this test has read the thinking: an app that kept
    # the thinking until the answer began would send none here, and the read would time out.
    with httpx.stream(
        "POST", reasoning_app.url + "/api/chat/stream", json=question("Hm? #held"), timeout=30
    ) as response:
        lines = live_lines(response)
        before_the_words = read_until_step(lines, "Thinking")
        model_server.release()
        after = list(lines)

    assert response.status_code == 200
    assert not answer_text(before_the_words)
    assert answer_text(after).startswith("Answer to: Hm?")
    assert after[-1]["context"]["finish_reason"] == "stop"


def test_a_long_silent_think_carries_keepalive_lines(start_app, model_server):
    env = {**REASONING_APP, "CHAT_MODEL_TIMEOUT_SECONDS": "60", "CHAT_KEEPALIVE_SECONDS": "0.4"}
    model_server.reset()
    # The stand-in opens its response, then thinks in silence until this test has read two
    # keep-alive lines: an app without them would send nothing, and the read would time out.
    with (
        start_app(env) as server,
        httpx.stream(
            "POST", server.url + "/api/chat/stream", json=question("Ponder #thinkheld"), timeout=30
        ) as response,
    ):
        lines = live_lines(response)
        silence = read_until_keepalives(lines, 2)
        model_server.release()
        after = list(lines)

    assert response.status_code == 200
    assert "Thinking" not in [s["title"] for s in steps(silence)]
    assert not answer_text(silence)
    assert steps(after)[0]["title"] == "Thinking"
    assert answer_text(after).startswith("Answer to: Ponder")
    assert after[-1]["context"]["finish_reason"] == "stop"


def test_the_thinking_steps_are_timed(reasoning_app):
    lines = _stream(reasoning_app, question("Timed thoughts?"))

    times = [s["elapsed_ms"] for s in steps(lines)]
    assert times == sorted(times)
    assert all(isinstance(t, int) for t in times)


def test_the_thinking_never_enters_the_answer(reasoning_app):
    lines = _stream(reasoning_app, question("What is NDJSON?"))

    text = answer_text(lines)
    assert text.startswith("Answer to: What is NDJSON?")
    assert "Reading the question" not in text
    assert "Planning" not in text


def test_the_buffered_answer_has_one_whole_step_per_thought(reasoning_app):
    body = httpx.post(
        reasoning_app.url + "/api/chat", json=question("Buffered?"), timeout=30
    ).json()

    thinking = [s for s in body["context"]["steps"] if s["title"] == "Thinking"]
    assert [s["id"] for s in thinking] == ["thinking-1", "thinking-2"]
    assert thinking[1]["detail"].startswith("**Planning the answer**")
    assert "Planning" not in body["message"]["content"]


def test_the_end_line_carries_usage_with_the_reasoning_tokens(reasoning_app):
    usage = _stream(reasoning_app, question("How many tokens?"))[-1]["context"]["usage"]

    assert usage["reasoning_tokens"] > 0
    assert usage["output_tokens"] > usage["reasoning_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_no_refused_parameter_reaches_the_model_and_every_call_is_capped(
    grounded_reasoning_app, model_server
):
    model_server.reset()

    follow_up = question("How do I deploy it?", "What is this app?", "A chat API.")
    lines = _stream(grounded_reasoning_app, follow_up)

    assert lines[-1]["context"]["finish_reason"] == "stop"
    stats = model_server.stats()
    calls = stats["calls"]
    assert [c["stream"] for c in calls] == [False, True]  # the search query, then the answer
    assert stats["refused"] == 0
    for call in calls:
        assert call["path"] == "/v1/responses"
        assert not REFUSED & set(call["parameters"])
        assert isinstance(call["max_output_tokens"], int)
    assert calls[0]["reasoning"] == {"effort": "none"}
    assert calls[1]["reasoning"] == {"effort": "low", "summary": "auto"}
    assert calls[1]["max_output_tokens"] == 1024


def test_the_answer_is_not_stored_and_the_instructions_are_the_servers(reasoning_app, model_server):
    _stream(reasoning_app, question("And now?", "Earlier question", "Earlier answer"))

    sent = model_server.stats()["last_request"]
    assert sent["store"] is False
    assert sent["instructions"].startswith("You are a helpful assistant")
    assert sent["input"] == [
        {"role": "user", "content": "Earlier question"},
        {"role": "assistant", "content": "Earlier answer"},
        {"role": "user", "content": "And now?"},
    ]


def test_a_temperature_for_a_reasoning_model_is_a_400_without_a_model_call(
    reasoning_app, model_server
):
    model_server.reset()
    body = question("Be creative")
    body["context"]["overrides"]["temperature"] = 0.9

    response = httpx.post(reasoning_app.url + "/api/chat/stream", json=body, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "temperature" in response.json()["error"]["message"]
    assert model_server.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("directive", "code"),
    [("#failed", "model_error"), ("#error", "model_error"), ("#filter", "content_filter")],
)
def test_failures_the_model_reports_in_its_stream_end_with_an_error_line(
    reasoning_app, directive, code
):
    response = httpx.post(
        reasoning_app.url + "/api/chat/stream", json=question(f"Go {directive}"), timeout=30
    )

    assert failure(response)["code"] == code


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_an_event_of_an_unexpected_shape_ends_the_stream_with_an_error_line(
    reasoning_app, app_server, api
):
    app = reasoning_app if api == "responses" else app_server

    response = httpx.post(app.url + "/api/chat/stream", json=question("Odd #garbled"), timeout=30)

    # An error line, or an error status if it came within the opening window; never a 500.
    assert failure(response)["code"] == "model_error"
    assert "Traceback" not in app.log()


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_an_event_of_an_unexpected_shape_never_reaches_the_answer_text(
    reasoning_app, app_server, api
):
    app = reasoning_app if api == "responses" else app_server

    response = httpx.post(app.url + "/api/chat/stream", json=question("Odd #garbled"), timeout=30)

    # Every line before the failure (none, when it was told by an error status) carries text only.
    before_failure = parse_lines(response.content)[:-1]
    assert all(isinstance(line["delta"].get("content", ""), str) for line in before_failure)


@pytest.fixture(scope="module")
def capped_app(start_app):
    with start_app({**REASONING_APP, "CHAT_MAX_OUTPUT_TOKENS": "50"}) as server:
        yield server


@pytest.mark.parametrize("route", ["/api/chat/stream", "/api/chat"])
def test_an_answer_cut_by_the_length_cap_ends_with_length(capped_app, model_server, route):
    response = httpx.post(capped_app.url + route, json=question("Long answer please"), timeout=30)

    assert response.status_code == 200
    if route == "/api/chat":
        context = response.json()["context"]
    else:
        context = parse_lines(response.content)[-1]["context"]
    assert context["finish_reason"] == "length"
    assert context["usage"]["output_tokens"] == 50
    assert model_server.stats()["last_request"]["max_output_tokens"] == 50


# ---- Chat Completions for a custom base URL ------------------------------------------------


def test_an_ollama_style_server_is_reached_through_chat_completions(app_server, model_server):
    lines = _stream(app_server, question("Through chat completions?"))

    assert lines[-1]["context"]["finish_reason"] == "stop"
    sent = model_server.stats()["calls"][-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["max_tokens"] == 1024
    assert lines[-1]["context"]["usage"]["output_tokens"] == 20


def test_a_reasoning_model_behind_chat_completions_gets_max_completion_tokens(
    start_app, model_server
):
    env = {"OPENAI_CHAT_MODEL": "o4-mini", "CHAT_RETRIEVAL": "local"}
    with start_app(env) as app:
        model_server.reset()
        lines = _stream(app, question("How do I deploy it?", "What is this app?", "A chat API."))

    assert lines[-1]["context"]["finish_reason"] == "stop"
    stats = model_server.stats()
    assert stats["refused"] == 0
    assert [c["path"] for c in stats["calls"]] == ["/v1/chat/completions"] * 2  # query, answer
    for call in stats["calls"]:
        assert not {"temperature", "top_p", "max_tokens"} & set(call["parameters"])
        assert isinstance(call["max_completion_tokens"], int)
