"""Progress steps leave when they happen: the response starts at once, whatever the model is
doing, and the first word follows when the model says it (stand-in model delays over real HTTP).

The stand-in holds its first word until the test has seen the steps, so no bound on time is
needed to tell a step sent at once from one held until the model spoke."""

from __future__ import annotations

import httpx

from tests.support.ndjson import (
    answer_text,
    live_lines,
    question,
    read_until_keepalives,
    read_until_step,
    steps,
    timed_lines,
)

PATIENT = {"CHAT_MODEL_TIMEOUT_SECONDS": "10"}  # a silent model is not a stalled one here


def test_the_steps_are_on_the_wire_before_the_model_says_a_word(start_app, model_server):
    model_server.reset()
    # The stand-in holds its first word until this test has read the steps: an app that kept
    # them until the model's first word would send nothing here, and the test would time out.
    with (
        start_app(PATIENT) as server,
        httpx.stream(
            "POST", server.url + "/api/chat/stream", json=question("Slow? #held"), timeout=30
        ) as response,
    ):
        lines = live_lines(response)
        before_the_model = read_until_step(lines, "Generating the answer")
        model_server.release()
        after = list(lines)

    assert response.status_code == 200
    assert [s["title"] for s in steps(before_the_model)] == [
        "Question received",
        "Generating the answer",
    ]
    assert not answer_text(before_the_model)
    assert answer_text(after)
    assert after[-1]["context"]["finish_reason"] == "stop"


def test_the_buffered_route_still_answers_in_one_body_once_complete(app_server):
    status, began, lines = timed_lines(
        app_server.url + "/api/chat", question("Slow? #firstword1.2")
    )

    assert status == 200
    assert began >= 1.2
    assert len(lines) == 1
    assert lines[0][1]["message"]["content"]


def test_a_long_silence_carries_keepalive_lines_the_answer_does_not_include(
    start_app, model_server
):
    model_server.reset()
    # The stand-in stays silent until this test has read two keep-alive lines: an app without
    # them would send nothing more, and the read would time out.
    with (
        start_app({**PATIENT, "CHAT_KEEPALIVE_SECONDS": "0.4"}) as server,
        httpx.stream(
            "POST", server.url + "/api/chat/stream", json=question("Thinking #held"), timeout=30
        ) as response,
    ):
        lines = live_lines(response)
        silence = read_until_keepalives(lines, 2)
        model_server.release()
        after = list(lines)

    keepalives = [line for line in silence + after if line.get("context", {}).get("keep_alive")]
    assert response.status_code == 200
    assert not answer_text(silence)
    assert all("content" not in line["delta"] for line in keepalives)
    assert answer_text(after).startswith("Answer to: Thinking")
    assert after[-1]["context"]["finish_reason"] == "stop"
