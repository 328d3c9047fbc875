"""What the model hosts' tests share: the settings of the hosts under test (Chat Completions;
the Responses API with a reasoning model and another), the prompt and the conversation they
answer, and Responses API events written out for the mocked model to send. The `collect` fixture
is in conftest.py."""

from __future__ import annotations

import orjson

from chat_api.prompt import Prompt
from chat_api.protocol import Message
from chat_api.settings import Settings

# Chat Completions, as an OpenAI-compatible server such as Ollama serves it.
OPENAI = Settings(
    model_host="openai",
    model_api="chat",
    openai_chat_model="llama3.1",
    openai_api_key="sk-test",
    model_retry_seconds=5,
)

# The Responses API: a reasoning model, and another that takes a temperature.
REASONING = Settings(
    model_host="openai",
    model_api="responses",
    openai_api_key="sk-test",
    openai_chat_model="gpt-5.4-mini",
    reasoning_model=True,
    reasoning_effort="low",
    model_retry_seconds=0,
)
PLAIN = REASONING.model_copy(update=dict(openai_chat_model="gpt-4.1-mini", reasoning_model=False))
PROMPT = Prompt(
    messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is NDJSON?"},
    ],
    question="What is NDJSON?",
)


# A conversation of alternating turns, the user's first, for the search query's calls.
def conversation(*contents: str) -> list[Message]:
    roles = ["user", "assistant"]
    return [Message(role=roles[i % 2], content=c) for i, c in enumerate(contents)]


# Responses API events as the service sends them: `event:` name, then its `data:` object.
def responses_event(kind: str, **fields: object) -> bytes:
    return (
        b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"
    )


def completed_event(**response: object) -> bytes:
    return responses_event("response.completed", response={"status": "completed", **response})


def text_delta_event(delta: object) -> bytes:
    return responses_event("response.output_text.delta", item_id="msg", delta=delta)
