"""What the bench sends: the request bodies for the app and for the stand-in model, and the
load generator's targets built from them."""

from __future__ import annotations

import json
from typing import Any

from bench.loadgen import Target
from standins import processes

REASONING_MODEL = "gpt-5.4-mini"
HOST = "127.0.0.1"


def chat_body(question: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": question}]}).encode()


def model_body(question: str) -> bytes:
    return json.dumps(
        {
            "model": "bench",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": question}],
        }
    ).encode()


def responses_body(question: str, model: str = "bench") -> bytes:
    """What the app sends the Responses API for an answer, minus the instructions; a reasoning
    model is asked for summaries of its thinking."""
    body: dict[str, Any] = {
        "model": model,
        "stream": True,
        "store": False,
        "max_output_tokens": 1024,
        "input": [{"role": "user", "content": question}],
    }
    if model != "bench":
        body["reasoning"] = {"summary": "auto"}
    return json.dumps(body).encode()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def streamed_answer(url: str) -> Target:
    """A streamed answer from the app at `url`, done when its end line has arrived."""
    return Target(HOST, port_of(url), "/api/chat/stream", chat_body("bench"), b"finish_reason")


def answer_target(app: processes.AppServer) -> Target:
    """A streamed answer from `app`, done when its end line has arrived."""
    return streamed_answer(app.url)


def model_floors(model_url: str) -> tuple[Target, dict[str, Target]]:
    """The stand-in model answering directly (the floor): Chat Completions, and by mode the
    Responses API's floors."""
    port = port_of(model_url)
    floor = Target(HOST, port, "/v1/chat/completions", model_body("bench"), b"[DONE]")
    # The Responses API: the same answer as the service's events (larger, and more of them:
    # created, in progress, output item and content part added, 40 text deltas, their done
    # events, completed with the whole response).
    responses = Target(
        HOST,
        port,
        "/v1/responses",
        responses_body("bench"),
        b"event: response.completed",
        b"event: response.output_text.delta",
    )
    # A reasoning model: some 25 thinking deltas (streamed as steps) before the 40 words.
    thinking = Target(
        HOST,
        port,
        "/v1/responses",
        responses_body("bench", REASONING_MODEL),
        b"event: response.completed",
        b"event: response.output_text.delta",
    )
    return floor, {"responses": responses, "thinking": thinking}
