"""POST /api/chat/stream over real HTTP: the app as a process, the model a stand-in server."""

from __future__ import annotations

import httpx

from standins.model_answers import answer_words
from tests.support.ndjson import answer_text, parse_lines, question, steps


def test_answers_with_ndjson_lines_ending_in_a_finish_reason(app_server):
    response = httpx.post(app_server.url + "/api/chat/stream", json=question("What is NDJSON?"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = parse_lines(response.content)
    assert lines[-1]["context"]["finish_reason"] == "stop"
    assert all(line["delta"]["role"] == "assistant" for line in lines)


def test_joined_deltas_are_the_model_answer(app_server):
    response = httpx.post(app_server.url + "/api/chat/stream", json=question("What is NDJSON?"))

    assert answer_text(parse_lines(response.content)) == "".join(
        answer_words("What is NDJSON?", 20)
    )


def test_first_words_arrive_while_the_model_is_still_generating(app_server, model_server):
    model_server.reset()
    # The stand-in sends its first word, then the next only once released: an app that held
    # the answer back until the model finished would send no words here, and the read would
    # time out.
    with httpx.stream(
        "POST",
        app_server.url + "/api/chat/stream",
        json=question("stream me #lockstep"),
        timeout=30,
    ) as response:
        lines = response.iter_lines()  # one iterator: dropping it would close the connection
        for line in lines:
            if '"content"' in line:
                break
        assert model_server.stats()["active"] == 1


def test_each_model_chunk_is_flushed_as_its_own_line(app_server, model_server):
    model_server.reset()
    question_text = "pace #lockstep"
    expected = answer_words(question_text, 20)
    received: list[str] = []
    # The stand-in sends each chunk only once the one before has reached this client: an app
    # that held lines back would leave both waiting until its model timeout cut the answer.
    with httpx.stream(
        "POST", app_server.url + "/api/chat/stream", json=question(question_text), timeout=30
    ) as response:
        for read in response.iter_raw():
            assert read.endswith(b"\n")  # whole lines only
            words = answer_text(parse_lines(read))
            if words:
                received.append(words)
                model_server.release()
    assert received == expected


def test_progress_steps_come_before_the_answer(app_server):
    lines = parse_lines(
        httpx.post(app_server.url + "/api/chat/stream", json=question("Hello?")).content
    )
    first_content = next(i for i, line in enumerate(lines) if line["delta"].get("content"))
    titles = [s["title"] for s in steps(lines[:first_content])]
    assert titles == ["Question received", "Generating the answer"]


def test_buffered_route_gives_the_same_text_as_the_stream(app_server):
    body = question("Is the buffered answer the same?", "Hi", "Hello! How can I help?")

    streamed = parse_lines(httpx.post(app_server.url + "/api/chat/stream", json=body).content)
    completion = httpx.post(app_server.url + "/api/chat", json=body)

    assert completion.status_code == 200
    data = completion.json()
    assert data["message"] == {"role": "assistant", "content": answer_text(streamed)}
    assert data["context"]["finish_reason"] == "stop"
    assert [s["title"] for s in data["context"]["steps"]] == [s["title"] for s in steps(streamed)]


def test_completion_echoes_the_session_state(app_server):
    body = question("Keep my state")
    body["sessionState"] = {"conversation": "abc-123"}

    data = httpx.post(app_server.url + "/api/chat", json=body).json()

    assert data["sessionState"] == {"conversation": "abc-123"}


def test_history_reaches_the_model_with_a_system_prompt_first(app_server, model_server):
    httpx.post(
        app_server.url + "/api/chat/stream",
        json=question("And the second?", "First question", "First answer"),
    )

    sent = model_server.stats()["last_request"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[-1]["content"] == "And the second?"


def test_temperature_override_reaches_the_model(app_server, model_server):
    body = question("Be creative")
    body["context"]["overrides"]["temperature"] = 1.3

    httpx.post(app_server.url + "/api/chat/stream", json=body)

    assert model_server.stats()["last_request"]["temperature"] == 1.3


def test_long_conversations_are_trimmed_to_fit_the_model(app_server, model_server):
    # 40 turns of 3,000 characters: twice what the stand-in model accepts (60,000).
    history = [("q" if i % 2 == 0 else "a") * 3000 for i in range(40)]

    response = httpx.post(
        app_server.url + "/api/chat/stream", json=question("Still there?", *history)
    )

    lines = parse_lines(response.content)
    assert response.status_code == 200
    assert lines[-1]["context"]["finish_reason"] == "stop"
    sent = model_server.stats()["last_request"]["messages"]
    assert 2 < len(sent) < 41
    assert sent[1]["role"] == "user"
    assert sent[-1]["content"] == "Still there?"
