"""Progress steps leave when they happen: the response starts at once, whatever the model is
doing, and the first word follows when the model says it (stand-in model delays over real HTTP).

The stand-in holds its first word until the test has seen the steps, so no bound on time is
needed to tell a step sent at once from one held until the model spoke."""

from __future__ import annotations

import httpx

from tests.support.ndjson import (
    answer_text,
    first_word,
    live_lines,
    question,
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


def test_a_long_silence_carries_keepalive_lines_the_answer_does_not_include(start_app):
    with start_app({**PATIENT, "CHAT_KEEPALIVE_SECONDS": "0.4"}) as server:
        status, _, lines = timed_lines(
            server.url + "/api/chat/stream", question("Thinking hard #firstword2")
        )

    kinds = ["keep_alive" if line.get("context", {}).get("keep_alive") else "" for _, line in lines]
    silent = [at for (at, _), kind in zip(lines, kinds, strict=True) if kind]
    assert status == 200
    assert len(silent) >= 2  # the 2 s silence carried several, about one per 0.4 s
    assert max(silent) < first_word(lines)
    assert all(
        "content" not in line["delta"] for (_, line), k in zip(lines, kinds, strict=False) if k
    )
    assert lines[-1][1]["context"]["finish_reason"] == "stop"
