"""The tally of an answer's model calls before its stream: what the host reports while a stage
counts lands in that answer's tally, in either API's shape, and nowhere else."""

from __future__ import annotations

import asyncio

from openai.types.completion_usage import CompletionUsage

from chat_api.usage import CallTally, report_model_usage


def test_a_call_reported_while_the_tally_counts_adds_its_total_tokens():
    tally = CallTally()

    with tally.counting():
        report_model_usage(
            CompletionUsage(prompt_tokens=41, completion_tokens=4, total_tokens=45), "gpt-4o-mini"
        )

    assert tally.tokens == 45


def test_a_usage_without_a_total_counts_what_was_read_and_written():
    tally = CallTally()

    with tally.counting():
        report_model_usage({"input_tokens": 30, "output_tokens": 6}, "gpt-5.4-mini")

    assert tally.tokens == 36


def test_a_call_reported_after_the_stage_is_not_counted():
    tally = CallTally()
    with tally.counting():
        pass

    report_model_usage({"total_tokens": 50}, "gpt-4o-mini")  # outside any answer: ingestion

    assert tally.tokens == 0


async def test_answers_in_flight_together_each_count_only_their_own_calls():
    first, second = CallTally(), CallTally()

    async def stage(tally: CallTally, tokens: int) -> None:
        with tally.counting():
            await asyncio.sleep(0)  # the other answer's stage runs meanwhile
            report_model_usage({"total_tokens": tokens}, "gpt-4o-mini")

    await asyncio.gather(stage(first, 10), stage(second, 20))

    assert (first.tokens, second.tokens) == (10, 20)
