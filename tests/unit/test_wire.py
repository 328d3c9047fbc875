"""The wire format, byte for byte: snapshots of our own protocol lines."""

from __future__ import annotations

import re

import orjson

from chat_api import model_errors, wire
from chat_api.errors import ChatError
from chat_api.events import Citation, Citations, End, Failure, Step, TextDelta
from chat_api.model_errors import rate_limited
from chat_api.service import ChatService
from chat_api.settings import Settings
from tests.support.ndjson import question

EVENTS = [
    Step("Question received", "What is NDJSON?"),
    Step("Searching the knowledge base", "ndjson", 3),
    Citations((Citation("1", "API", "docs/api.md#stream", "One JSON value per line."),)),
    TextDelta("NDJSON is"),
    TextDelta(' one "JSON" value per line.\n'),
    End("stop", {"total_tokens": 12}, answer_id="5f0c2a9e71d84b3c"),
]


def test_each_event_type_as_one_ndjson_line(snapshot):
    lines = b"".join(wire.ndjson_line(e) for e in EVENTS)

    assert lines.decode() == snapshot


def test_the_fast_text_line_is_valid_json_for_any_text():
    for text in ["plain", 'quote " and \\ backslash', "new\nline\ttab", "emoji 🚀", "\u2028"]:
        line = wire.ndjson_line(TextDelta(text))
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        assert orjson.loads(line) == {"delta": {"role": "assistant", "content": text}}


def test_an_error_is_a_line_of_its_own():
    line = wire.ndjson_line(Failure(ChatError(502, "model_error", "The model failed.")))

    assert line == b'{"error":{"code":"model_error","message":"The model failed."}}\n'


def test_an_error_line_carries_the_request_reference_when_there_is_one():
    failure = Failure(ChatError(502, "model_error", "The model failed."), ref="0af7651916cd")

    assert orjson.loads(wire.ndjson_line(failure))["error"]["ref"] == "0af7651916cd"


def test_a_completion_joins_the_text_and_keeps_steps_and_citations(snapshot):
    body = wire.completion_body(EVENTS, {"id": 7})

    assert orjson.loads(body) == snapshot


def test_an_error_body_has_code_and_message_only():
    assert orjson.loads(wire.error_body(model_errors.model_failed())) == {
        "error": {"code": "model_error", "message": "The model service returned an error."}
    }


def test_an_error_with_a_wait_says_how_long_in_the_body_too():
    assert orjson.loads(wire.error_body(rate_limited(3))) == {
        "error": {
            "code": "rate_limited",
            "message": "The model is busy (rate limited). Try again in 3 seconds.",
            "retry_after_seconds": 3,
        }
    }


def test_the_keepalive_line_carries_no_content_and_no_end():
    line = orjson.loads(wire.KEEPALIVE_LINE)

    assert line == {"delta": {"role": "assistant"}, "context": {"keep_alive": True}}
    assert wire.KEEPALIVE_LINE.endswith(b"\n")
    assert wire.KEEPALIVE_LINE.count(b"\n") == 1


async def test_a_fixed_offline_conversation_streams_these_lines(snapshot, tmp_path):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "api.md").write_text(
        "# The API\n\n## Streaming\n\nNDJSON is one JSON value per line, flushed as produced.\n"
    )
    settings = Settings(
        model_host="offline", retrieval="local", knowledge_base_dir=str(tmp_path / "kb")
    )
    service = ChatService.from_settings(settings)

    reply = await service.stream("application/json", orjson.dumps(question("What is NDJSON?")))
    lines = [orjson.loads(line) async for line in reply.body]

    for line in lines:
        line.get("context", {}).get("step", {}).pop("elapsed_ms", None)
    assert re.fullmatch("[0-9a-f]{24}", lines[-1]["context"].pop("answer_id"))
    assert lines == snapshot


THINKING = [
    Step("Thinking", "Weighing", 120, id="thinking-1"),
    Step("Thinking", " the sources.", 140, id="thinking-1", append=True),
    Step("Thinking", "Drafting", 300, id="thinking-2"),
]


def test_a_growing_step_carries_its_id_and_appended_detail(snapshot):
    lines = b"".join(wire.ndjson_line(e) for e in THINKING)

    assert lines.decode() == snapshot


def test_a_completion_has_one_whole_step_per_thought():
    body = orjson.loads(wire.completion_body([*THINKING, TextDelta("Hi"), End()]))

    assert body["context"]["steps"] == [
        {
            "title": "Thinking",
            "detail": "Weighing the sources.",
            "elapsed_ms": 120,
            "id": "thinking-1",
        },
        {"title": "Thinking", "detail": "Drafting", "elapsed_ms": 300, "id": "thinking-2"},
    ]
    assert body["message"]["content"] == "Hi"
