"""Progress steps leave when they happen: the response starts at once, whatever the model is
doing, and the first word follows when the model says it (stand-in model delays over real HTTP).

Bounds are measured against the stand-in's own delays with wide margins: a step that was held
until the model's first word would arrive seconds late, not milliseconds."""

from __future__ import annotations

from tests.support.ndjson import arrival, first_word, question, timed_lines

MODEL_FIRST_WORD_SECONDS = 2.0
PATIENT = {"CHAT_MODEL_TIMEOUT_SECONDS": "10"}  # a silent model is not a stalled one here


def test_the_first_step_is_on_the_wire_long_before_a_slow_model_first_word(start_app):
    with start_app(PATIENT) as server:
        status, began, lines = timed_lines(
            server.url + "/api/chat/stream", question("Slow? #firstword2")
        )

    assert status == 200
    assert began < MODEL_FIRST_WORD_SECONDS / 2
    assert arrival(lines, "Question received") < MODEL_FIRST_WORD_SECONDS / 2
    assert arrival(lines, "Generating the answer") < MODEL_FIRST_WORD_SECONDS / 2
    assert first_word(lines) >= MODEL_FIRST_WORD_SECONDS
    assert lines[-1][1]["context"]["finish_reason"] == "stop"


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
