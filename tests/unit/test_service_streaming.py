"""The framework-independent API: how a stream starts and ends. A failure within the opening
window is an error status, after it the last line; a silent model holds neither the response nor
its steps; closing or cancelling stops the model call; a buffered stream and a whole completion
answer with the outcome."""

from __future__ import annotations

import asyncio

import orjson

from chat_api import model_errors
from chat_api.service import ChatService
from chat_api.settings import Settings
from tests.support.ndjson import question
from tests.support.scripted_host import ScriptedHost, json_bytes, scripted_service


async def _body(reply) -> bytes:
    if isinstance(reply.body, bytes):
        return reply.body
    return b"".join([chunk async for chunk in reply.body])


async def test_a_failure_before_any_answer_is_an_error_status():
    host = ScriptedHost(["never"], fail_at=0, error=model_errors.rate_limited(7))
    # A window no stall of a busy machine can outlast: the failure is within it.
    service = ChatService(Settings(opening_window_seconds=30), host)

    reply = await service.stream("application/json", json_bytes(question("hi")))

    assert reply.status == 429
    assert reply.headers == {"Retry-After": "7", "Access-Control-Expose-Headers": "Retry-After"}
    assert orjson.loads(reply.body)["error"]["code"] == "rate_limited"


async def test_a_failure_after_the_answer_began_is_the_last_line():
    service = scripted_service(
        ScriptedHost(["one", " two"], fail_at=2, error=model_errors.stream_interrupted())
    )

    reply = await service.stream("application/json", json_bytes(question("hi")))
    lines = [orjson.loads(line) for line in (await _body(reply)).splitlines()]

    assert reply.status == 200
    assert lines[-2] == {"delta": {"role": "assistant", "content": " two"}}
    assert lines[-1]["error"]["code"] == "stream_interrupted"


async def test_buffered_stream_is_the_same_lines_in_one_body():
    service = scripted_service(ScriptedHost(["a", " b"]))
    body = json_bytes(question("hi"))

    streamed = await _body(await service.stream("application/json", body))
    buffered = await service.buffered_stream("application/json", body)

    assert isinstance(buffered.body, bytes)
    assert [orjson.loads(x)["delta"].get("content") for x in buffered.body.splitlines()] == [
        orjson.loads(x)["delta"].get("content") for x in streamed.splitlines()
    ]


async def test_a_completion_fails_as_a_whole():
    service = scripted_service(ScriptedHost(["one"], fail_at=1))

    reply = await service.complete("application/json", json_bytes(question("hi")))

    assert reply.status == 502


async def test_the_question_reaches_the_host_after_the_system_prompt():
    host = ScriptedHost(["ok"])

    await _body(
        await scripted_service(host).stream("application/json", json_bytes(question("why?")))
    )

    assert host.prompts[0].messages[0]["role"] == "system"
    assert host.prompts[0].messages[-1] == {"role": "user", "content": "why?"}


async def test_a_silent_model_does_not_hold_the_response_or_its_steps():
    first_word = asyncio.Event()
    service = scripted_service(ScriptedHost(["late"], first_word=first_word))

    reply = await asyncio.wait_for(
        service.stream("application/json", json_bytes(question("hi"))), 5
    )
    lines = aiter(reply.body)
    opening = [orjson.loads(await anext(lines)) for _ in range(2)]

    assert reply.status == 200
    assert [line["context"]["step"]["title"] for line in opening] == [
        "Question received",
        "Generating the answer",
    ]
    first_word.set()
    rest = [orjson.loads(line) async for line in lines]
    assert rest[0] == {"delta": {"role": "assistant", "content": "late"}}
    assert rest[-1]["context"]["finish_reason"] == "stop"


async def test_a_failure_after_the_opening_window_is_the_last_line_with_its_wait():
    first_word = asyncio.Event()
    host = ScriptedHost([], fail_at=0, error=model_errors.rate_limited(30), first_word=first_word)

    reply = await scripted_service(host).stream("application/json", json_bytes(question("hi")))
    first_word.set()
    lines = [orjson.loads(line) for line in (await _body(reply)).splitlines()]

    assert reply.status == 200
    error = lines[-1]["error"]
    assert error == {
        "code": "rate_limited",
        "message": model_errors.rate_limited(30).message,
        "retry_after_seconds": 30,
        "ref": error["ref"],
    }


async def test_closing_an_unread_stream_stops_the_model_call():
    host = ScriptedHost(["never"], first_word=asyncio.Event())

    reply = await scripted_service(host).stream("application/json", json_bytes(question("hi")))
    await reply.body.aclose()

    assert host.closed.is_set()


async def test_closing_a_stream_while_the_model_is_silent_stops_the_model_call():
    host = ScriptedHost(["never"], first_word=asyncio.Event())
    reply = await scripted_service(host).stream("application/json", json_bytes(question("hi")))
    lines = aiter(reply.body)
    for _ in range(2):
        await anext(lines)  # the steps; the model has not answered

    reader = asyncio.get_running_loop().create_task(anext(lines))
    await asyncio.sleep(0.05)
    reader.cancel()  # what the response does when the client leaves
    await asyncio.wait((reader,))
    await reply.body.aclose()

    assert host.closed.is_set()


async def test_a_request_cancelled_within_its_opening_window_stops_the_model_call():
    host = ScriptedHost(["never"], first_word=asyncio.Event())
    service = ChatService(Settings(opening_window_seconds=30), host)
    starting = asyncio.get_running_loop().create_task(
        service.stream("application/json", json_bytes(question("hi")))
    )
    await host.asked.wait()

    starting.cancel()  # what a host may do when the client leaves before the first line
    await asyncio.wait((starting,))

    assert starting.cancelled()
    assert host.closed.is_set()


async def test_buffered_stream_status_is_the_outcome_even_after_a_slow_start():
    first_word = asyncio.Event()
    host = ScriptedHost([], fail_at=0, error=model_errors.model_timeout(), first_word=first_word)
    service = scripted_service(host)

    async def answer_later() -> None:
        await asyncio.sleep(0.4)  # past the opening window
        first_word.set()

    asyncio.get_running_loop().create_task(answer_later())
    reply = await service.buffered_stream("application/json", json_bytes(question("hi")))

    assert reply.status == 504
    assert orjson.loads(reply.body)["error"]["code"] == "model_timeout"
