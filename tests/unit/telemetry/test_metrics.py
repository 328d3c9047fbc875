"""The metrics the answers leave: each answer's outcome, duration, time to first token and
tokens, the streams open, a refused request counted by its reason, and the model's throttling
counted as it is retried; ratings by rating, and what the limits warn about. The real host talks
to the mocked model over loopback HTTP."""

from __future__ import annotations

import orjson

from tests.support.ndjson import question
from tests.unit.telemetry.recording import recorded_service, streamed_lines
from tests.unit.test_pipeline import FAR_OFF


async def test_a_throttled_model_is_retried_and_counted(opened, recorded, mock_model, fake_search):
    mock_model.failures = [(429, {"retry-after": "0"})]
    service = recorded_service(recorded, opened, model_retry_seconds=5, retrieval="off")

    lines = await streamed_lines(service, question("Cost?"))

    assert lines[-1]["context"]["finish_reason"] == "stop"
    server = recorded.finished()["server"].attributes
    assert server["chat.retries"] == 1
    assert server["chat.rate_limited"] is True
    (throttled,) = recorded.metric_points("chat.upstream.throttled")
    assert throttled.value == 1


async def test_a_refused_request_is_counted_by_its_reason(
    opened, recorded, mock_model, fake_search
):
    reply = await recorded_service(recorded, opened).stream("text/plain", b"hello")

    assert reply.status == 415
    server = recorded.finished()["server"].attributes
    assert server["chat.outcome"] == "refused"
    (refused,) = recorded.metric_points("chat.requests.refused")
    assert refused.attributes["chat.refusal.reason"] == "unsupported_media_type"
    assert not recorded.metric_points("chat.answers")


async def test_an_answer_whose_trace_is_not_kept_is_still_measured(
    opened, recorded_unsampled, mock_model, fake_search
):
    recorded = recorded_unsampled
    service = recorded_service(recorded, opened, retrieval="off")

    lines = await streamed_lines(service, question("Cost?"))

    assert lines[-1]["context"]["finish_reason"] == "stop"
    assert not recorded.spans.get_finished_spans()
    (answers,) = recorded.metric_points("chat.answers")
    assert (answers.value, answers.attributes["chat.outcome"]) == (1, "complete")
    (duration,) = recorded.metric_points("chat.answer.duration")
    (first_token,) = recorded.metric_points("chat.answer.time_to_first_token")
    assert duration.count == first_token.count == 1


async def test_a_failed_answer_whose_trace_is_not_kept_still_has_a_reference(
    opened, recorded_unsampled, mock_model, fake_search
):
    mock_model.cut_after = 4  # the connection drops after two words

    lines = await streamed_lines(
        recorded_service(recorded_unsampled, opened, retrieval="off"), question("Cost?")
    )

    assert lines[-1]["error"]["code"] == "stream_interrupted"
    assert len(lines[-1]["error"]["ref"]) == 12


async def test_answers_leave_outcome_duration_first_token_and_token_metrics(
    opened, recorded, mock_model, fake_search
):
    lines = await streamed_lines(recorded_service(recorded, opened), question("Cost?"))

    usage = lines[-1]["context"]["usage"]
    (answers,) = recorded.metric_points("chat.answers")
    assert answers.attributes == {"http.route": "/api/chat/stream", "chat.outcome": "complete"}
    assert recorded.metric_points("chat.answer.duration")[0].count == 1
    assert recorded.metric_points("chat.answer.time_to_first_token")[0].count == 1
    tokens = {
        p.attributes["gen_ai.token.type"]: p.value
        for p in recorded.metric_points("chat.tokens")
        if p.attributes["chat.stage"] == "answer"
    }
    assert tokens == {"input": usage["input_tokens"], "output": usage["output_tokens"]}
    (open_streams,) = recorded.metric_points("chat.streams.open")
    assert open_streams.value == 0  # opened and closed again


async def test_answer_times_are_counted_in_buckets_made_for_seconds(
    opened, recorded, mock_model, fake_search
):
    await streamed_lines(recorded_service(recorded, opened), question("Cost?"))

    for name in ("chat.answer.duration", "chat.answer.time_to_first_token"):
        (point,) = recorded.metric_points(name)
        seconds = point.sum
        assert 0 < seconds < 1  # an answer from the mocked model, in seconds
        # The bucket it falls in ends within two and a half times its value (the widest step of
        # the bounds the conventions advise, 0.1 to 0.25 s): fine enough for percentiles.
        upper = next(bound for bound in point.explicit_bounds if bound >= seconds)
        assert point.bucket_counts[point.explicit_bounds.index(upper)] == 1
        assert upper <= max(2.5 * seconds, point.explicit_bounds[0])


async def test_a_declined_answer_is_counted_without_its_page(
    opened, recorded, mock_model, fake_search
):
    fake_search.documents = FAR_OFF
    service = recorded_service(recorded, opened, azure_search_semantic_ranker=True)
    body = question("Who won the 1998 World Cup?")
    body["context"]["page"] = {"url": "https://docs.example.com/guide/", "title": "Guide"}

    lines = await streamed_lines(service, body)

    assert lines[-1]["context"]["no_source"] is True
    (declined,) = recorded.metric_points("chat.answers.declined")
    assert (declined.value, dict(declined.attributes)) == (1, {"http.route": "/api/chat/stream"})


async def test_an_answer_from_a_relevant_source_is_not_counted_as_declined(
    opened, recorded, mock_model, fake_search
):
    lines = await streamed_lines(recorded_service(recorded, opened), question("Basic plan?"))

    assert "no_source" not in lines[-1]["context"]
    assert recorded.metric_points("chat.answers.declined") == []


async def test_ratings_are_counted_by_rating(opened, recorded):
    service = recorded_service(recorded, opened)

    for rating in ("up", "down", "down"):
        body = orjson.dumps({"answer_id": "4d34e2b165a72ed37d9682d5", "rating": rating})
        await service.feedback("application/json", body)

    counted = {
        point.attributes["chat.feedback.rating"]: point.value
        for point in recorded.metric_points("chat.feedback")
    }
    assert counted == {"up": 1, "down": 2}


async def test_callers_without_a_readable_address_are_counted_as_a_limits_signal(
    opened, recorded, mock_model, fake_search
):
    service = recorded_service(recorded, opened, retrieval="off")

    for _ in range(2):
        await streamed_lines(service, question("Cost?"))  # no client address at all

    (signal,) = recorded.metric_points("chat.limits.signals")
    assert signal.attributes == {"chat.limits.signal": "callers_look_alike.unknown"}
    assert signal.value == 2
