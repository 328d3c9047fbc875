"""The streamed response: every line sent as produced; the body closed when the client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import orjson

from chat_api import wire
from chat_api.answer_lines import AnswerLines
from chat_api.asgi import LineStream
from chat_api.events import Event, TextDelta

SCOPE = {"type": "http", "asgi": {"spec_version": "2.3"}}


async def _sent_to_a_client_that_stays(
    stream: LineStream, on_send: Callable[[dict], None] = lambda _: None
) -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
        on_send(message)

    async def receive() -> dict:
        await asyncio.Event().wait()
        return {}

    await stream(SCOPE, receive, send)
    return sent


async def test_sends_every_line_then_ends_the_body():
    async def lines() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"line {n}\n".encode()

    sent = await _sent_to_a_client_that_stays(
        LineStream(lines(), media_type="application/x-ndjson")
    )

    assert sent[0]["type"] == "http.response.start"
    assert [m["body"] for m in sent[1:]] == [b"line 0\n", b"line 1\n", b"line 2\n", b""]
    assert sent[-1]["more_body"] is False


async def test_a_client_that_leaves_closes_the_body_while_it_waits():
    closed = asyncio.Event()

    async def silent_model() -> AsyncIterator[bytes]:
        try:
            yield b"first\n"
            await asyncio.Event().wait()  # the model says nothing more
            yield b"never\n"
        finally:
            closed.set()

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    # In this task, so its cancellation state can be checked; the bound only stops a hang.
    async with asyncio.timeout(30):
        await LineStream(silent_model())(SCOPE, receive, send)

    assert closed.is_set()
    assert [m.get("body") for m in sent[1:]] == [b"first\n"]
    assert asyncio.current_task().cancelling() == 0  # nothing left to cancel the request


async def test_a_cancellation_from_elsewhere_still_propagates():
    async def slow() -> AsyncIterator[bytes]:
        await asyncio.Event().wait()
        yield b""

    async def send(message: dict) -> None:
        return None

    async def receive() -> dict:
        await asyncio.Event().wait()
        return {}

    task = asyncio.get_running_loop().create_task(LineStream(slow())(SCOPE, receive, send))
    await asyncio.sleep(0.01)
    task.cancel()

    try:
        await task
    except asyncio.CancelledError:
        cancelled = True
    else:
        cancelled = False
    assert cancelled


async def test_a_silent_stream_carries_keepalive_lines_until_it_speaks():
    keepalives: list[dict] = []
    two_keepalives = asyncio.Event()

    async def thinking_model() -> AsyncIterator[bytes]:
        yield b"step\n"
        await two_keepalives.wait()  # silent for as long as that takes, on any machine
        yield b"answer\n"

    def count(message: dict) -> None:
        if message.get("body") == wire.KEEPALIVE_LINE:
            keepalives.append(message)
        if len(keepalives) == 2:
            two_keepalives.set()

    stream = LineStream(thinking_model())
    stream.keepalive_seconds = 0.1
    async with asyncio.timeout(30):  # only stops a hang: the keep-alive lines never came
        sent = await _sent_to_a_client_that_stays(stream, on_send=count)

    bodies = [m["body"] for m in sent[1:]]
    assert bodies[0] == b"step\n"
    assert bodies[-2:] == [b"answer\n", b""]
    assert set(bodies[1:-2]) == {wire.KEEPALIVE_LINE}


async def test_a_stream_that_keeps_speaking_gets_no_keepalive_line():
    async def chatty_model() -> AsyncIterator[bytes]:
        for n in range(40):  # a line every 20 ms for 0.8 s: several keep-alive intervals
            await asyncio.sleep(0.02)
            yield f"{n}\n".encode()

    loop = asyncio.get_running_loop()
    times: list[float] = []
    stream = LineStream(chatty_model())
    stream.keepalive_seconds = 0.3
    sent = await _sent_to_a_client_that_stays(stream, on_send=lambda _: times.append(loop.time()))

    # A keep-alive line only after a real silence of half the interval: a busy machine may stall
    # this process that long (and then one is due), a stream that is speaking never gets one.
    silences = [
        at - before
        for before, at, message in zip(times, times[1:], sent[1:], strict=False)
        if message.get("body") == wire.KEEPALIVE_LINE
    ]
    assert all(silence >= 0.15 for silence in silences), silences


async def test_a_body_that_fails_unexpectedly_ends_with_an_internal_error_line():
    async def failing() -> AsyncIterator[bytes]:
        yield b"first\n"
        raise RuntimeError("secret detail")

    sent = await _sent_to_a_client_that_stays(LineStream(failing()))

    assert [m["body"] for m in sent[1:]] == [
        b"first\n",
        b'{"error":{"code":"internal_error","message":"Something went wrong on the server."}}\n',
        b"",
    ]


async def test_an_answer_that_fails_unexpectedly_ends_with_a_line_that_finds_its_trace():
    async def failing() -> AsyncIterator[Event]:
        yield TextDelta("first")
        raise RuntimeError("secret detail")

    sent = await _sent_to_a_client_that_stays(
        LineStream(AnswerLines([], None, failing(), ref="a1b2c3"))
    )

    last = orjson.loads(sent[-2]["body"])
    assert last == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on the server.",
            "ref": "a1b2c3",
        }
    }
