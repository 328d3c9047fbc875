"""What the limiter does to one answer's events as they pass: tallies what they spend
(`Spending`: the model's own count when the answer ends with one, else an estimate) and ends the
answer at its deadline (`within_deadline`). Per answer, with no shared state: the limiter
(`limiter.py`) holds the counts, and adds the tally to them once the answer is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from chat_api import errors
from chat_api.events import Event, Failure, close_events
from chat_api.prompt import estimate_tokens
from chat_api.protocol import ChatRequest


def prompt_tokens(request: ChatRequest, prompt_budget: int) -> int:
    """An estimate of the prompt an answer sends: the conversation, at most the prompt budget."""
    prompt = sum(estimate_tokens(m.content) for m in request.messages)
    return min(prompt, prompt_budget) if prompt_budget else prompt


class Spending:
    """What one answer spent: the length of its text so far, the model's count if given, and
    whether it failed before any text (the model refused it, or was never reached)."""

    __slots__ = ("chars", "failed", "usage")

    def __init__(self) -> None:
        self.chars = 0
        self.usage = 0
        self.failed = False

    def tokens(self, prompt: int, unseen: int = 0) -> int:
        """The model's own count when the answer ended with one. Else (the stream was cut, or
        the client left) an estimate: the prompt sent, and the larger of the text that came
        back and `unseen`, what the model may have written that no one sees (a reasoning
        model's thinking: up to its output cap)."""
        if self.usage:
            return self.usage
        if self.failed and not self.chars:
            return 0  # refused, or failed before the model was asked
        text = self.chars // 3 + 1 if self.chars else 0
        return prompt + max(text, unseen)


async def within_deadline(
    events: AsyncIterator[Event], seconds: float, ref: Callable[[], str]
) -> AsyncIterator[Event]:
    """The events until the deadline; then the pipeline is cancelled (closing its model and
    search calls) and a `timeout` Failure ends the answer. One timer for the whole answer: it
    cancels only while the pipeline is awaited, never while a line is being sent, and it cancels
    the task doing that wait (a stream's first events may be awaited by another task than the
    rest)."""
    state = _Deadline()

    def expire() -> None:
        state.expired = True
        if state.waiting is not None:
            state.waiting.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        while not state.expired:
            task = state.waiting = asyncio.current_task()
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if not state.expired or task is None or task.uncancel() > 0:
                    raise
                break
            finally:
                state.waiting = None
            yield event
        await close_events(events)
        yield Failure(errors.answer_timeout(seconds), ref())
    finally:
        timer.cancel()


class _Deadline:
    __slots__ = ("expired", "waiting")

    def __init__(self) -> None:
        self.expired = False
        self.waiting: asyncio.Task[object] | None = None
