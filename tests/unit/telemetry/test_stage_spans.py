"""What the stages' spans record: the model's answer by the GenAI semantic conventions (with the
reasoning tokens of a Responses-style usage), the search query's model call and the tokens it
spent, and no question, query or answer text unless asked. The real host talks to the mocked
model over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

from chat_api.events import End
from tests.support.ndjson import question
from tests.support.openai_mock_chat import COMPLETION_PROMPT_TOKENS
from tests.unit.telemetry.recording import recorded_service, streamed_lines


async def test_the_model_span_follows_the_genai_conventions(
    opened, recorded, mock_model, fake_search
):
    lines = await streamed_lines(recorded_service(recorded, opened), question("What does it cost?"))

    usage = lines[-1]["context"]["usage"]
    answer = recorded.finished()["answer"].attributes
    assert answer["gen_ai.operation.name"] == "chat"
    assert answer["gen_ai.request.model"] == "gpt-4o-mini"
    assert answer["gen_ai.response.model"] == "gpt-4o-mini"
    assert answer["gen_ai.usage.input_tokens"] == usage["input_tokens"]
    assert answer["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert answer["gen_ai.response.finish_reasons"] == ("stop",)
    assert answer["chat.time_to_first_token_ms"] > 0


async def test_no_question_query_or_answer_text_is_recorded_by_default(
    opened, recorded, mock_model, fake_search
):
    await streamed_lines(recorded_service(recorded, opened), question("My secret plan?"))

    for span in recorded.spans.get_finished_spans():
        for value in span.attributes.values():
            assert "secret" not in str(value).lower()


async def test_content_is_recorded_when_asked(
    opened, recorded_with_content, mock_model, fake_search
):
    await streamed_lines(
        recorded_service(recorded_with_content, opened),
        question("My secret plan?", "Hello.", "Hello!"),  # a follow-up: the model writes its query
    )

    spans = recorded_with_content.finished()
    assert spans["query"].attributes["chat.question"] == "My secret plan?"
    assert spans["search"].attributes["chat.search.query"] == "my secret plan"
    assert spans["answer"].attributes["gen_ai.output.messages"] == "You asked: My secret plan?"
    assert "My secret plan?" in spans["answer"].attributes["gen_ai.input.messages"]


async def test_reasoning_tokens_are_recorded_from_a_responses_style_usage(recorded):
    trace = recorded.telemetry.request("/api/chat/stream")
    usage = {
        "input_tokens": 3,
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 6},
    }

    async def pipeline() -> AsyncIterator[End]:
        trace.model_stage("gpt-5.4-mini", None)
        yield End("stop", usage, "gpt-5.4-mini-2026-03-17")

    [event async for event in trace.observe(pipeline())]

    answer = recorded.finished()["answer"].attributes
    assert answer["gen_ai.usage.input_tokens"] == 3
    assert answer["gen_ai.usage.output_tokens"] == 9
    assert answer["gen_ai.usage.reasoning_tokens"] == 6
    assert answer["gen_ai.response.model"] == "gpt-5.4-mini-2026-03-17"


# ---- The search query's model call -------------------------------------------------------------


async def test_the_search_query_span_records_its_token_usage(
    opened, recorded, mock_model, fake_search
):
    follow_up = question("What does it cost?", "Does it stream?", "Yes.")
    await streamed_lines(recorded_service(recorded, opened), follow_up)

    query = recorded.finished()["query"].attributes
    assert query["gen_ai.usage.input_tokens"] == COMPLETION_PROMPT_TOKENS
    assert query["gen_ai.usage.output_tokens"] == 4  # "what does it cost"
    assert query["gen_ai.response.model"] == "gpt-4o-mini"
    tokens = {
        (p.attributes["chat.stage"], p.attributes["gen_ai.token.type"]): p.value
        for p in recorded.metric_points("chat.tokens")
    }
    assert tokens[("query", "input")] == COMPLETION_PROMPT_TOKENS
    assert tokens[("query", "output")] == 4
