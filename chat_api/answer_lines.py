"""A streamed answer's body. The answer waits a short opening window for its first event that is
not a step, so that a quick failure still gets its own status; then its NDJSON lines are the
events held during the window, followed by the rest as they come.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from chat_api import wire
from chat_api.events import Event, Step, close_events


async def opening_window(
    events: AsyncIterator[Event], window: float
) -> tuple[list[Event], asyncio.Task[Event] | None]:
    """The events produced within `window`, up to and including the first that is not a step,
    and the still-running request for the next event when the window closed first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    held: list[Event] = []
    while True:
        next_event = loop.create_task(_next(events))
        try:
            done, _ = await asyncio.wait((next_event,), timeout=max(0.0, deadline - loop.time()))
        except asyncio.CancelledError:
            # The request itself was cancelled (its client left): so is the answer's work.
            next_event.cancel()
            await asyncio.wait((next_event,))
            raise
        if not done:
            return held, next_event
        try:
            event = next_event.result()
        except StopAsyncIteration:
            return held, None
        held.append(event)
        if type(event) is not Step:
            return held, None


async def _next(events: AsyncIterator[Event]) -> Event:
    return await anext(events)


class AnswerLines:
    """A streamed answer's NDJSON lines: the events held during the opening window, then the
    rest as they come. `aclose` stops the answer even when the body was never read (a client
    that left before the first line), so no model or search call goes on unpaid-for."""

    def __init__(
        self,
        held: list[Event],
        pending: asyncio.Task[Event] | None,
        events: AsyncIterator[Event],
        ref: str = "",
    ) -> None:
        self.ref = ref  # the request's reference, for a last line the HTTP layer writes
        self._pending = pending
        self._events = events
        self._lines = self._produce(held)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines

    async def _produce(self, held: list[Event]) -> AsyncGenerator[bytes, None]:
        line = wire.ndjson_line
        for event in held:
            yield line(event)
        pending = self._pending
        if pending is not None:
            try:
                event = await pending  # cancelling this task cancels the answer too
            except StopAsyncIteration:
                return
            self._pending = None
            yield line(event)
        async for event in self._events:
            yield line(event)

    async def aclose(self) -> None:
        pending = self._pending
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.wait((pending,))
        await self._lines.aclose()
        await close_events(self._events)
