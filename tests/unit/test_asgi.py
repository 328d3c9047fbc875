"""The streamed response: every line sent as produced; the body closed when the client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from chat_api import wire
from chat_api.asgi import LineStream

SCOPE = {"type": "http", "asgi": {"spec_version": "2.3"}}


async def _sent_to_a_client_that_stays(stream: LineStream) -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

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

    async with asyncio.timeout(1):  # in this task, so its cancellation state can be checked
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
    async def thinking_model() -> AsyncIterator[bytes]:
        yield b"step\n"
        await asyncio.sleep(0.5)  # five intervals of silence
        yield b"answer\n"

    stream = LineStream(thinking_model())
    stream.keepalive_seconds = 0.1
    sent = await _sent_to_a_client_that_stays(stream)

    bodies = [m["body"] for m in sent[1:]]
    assert bodies[0] == b"step\n"
    assert bodies[-2:] == [b"answer\n", b""]
    assert set(bodies[1:-2]) == {wire.KEEPALIVE_LINE}
    assert len(bodies[1:-2]) >= 2


async def test_a_stream_that_keeps_speaking_gets_no_keepalive_line():
    async def chatty_model() -> AsyncIterator[bytes]:
        for n in range(40):  # a line every 20 ms for 0.8 s: several keep-alive intervals
            await asyncio.sleep(0.02)
            yield f"{n}\n".encode()

    stream = LineStream(chatty_model())
    stream.keepalive_seconds = 0.3
    sent = await _sent_to_a_client_that_stays(stream)

    assert wire.KEEPALIVE_LINE not in [m.get("body") for m in sent]


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
