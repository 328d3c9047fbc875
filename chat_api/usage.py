"""The tokens an answer's model calls spend before its streamed answer: the search query the
model writes, the question's embedding. The pipeline counts into the answer's `CallTally` while
each of those stages runs; the model host reports every such call's usage here, and it lands in
the tally of the answer in progress (and on its trace). The limits charge an answer the tally
with the streamed answer's own usage.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from chat_api import upstream


class CallTally:
    """The tokens of one answer's model calls outside its stream."""

    __slots__ = ("tokens",)

    def __init__(self) -> None:
        self.tokens = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        """The calls made inside count here. A stage never yields inside it, so this runs in one
        task and one context from start to end."""
        reset = _CURRENT.set(self)
        try:
            yield
        finally:
            _CURRENT.reset(reset)


_CURRENT: ContextVar[CallTally | None] = ContextVar("chat_api.usage.tally", default=None)


def report_model_usage(usage: object, model: str) -> None:
    """A model call's usage (the SDK's object, or a dict) and the model that answered: counted
    for the answer in progress, if any, and recorded on its trace."""
    dump = getattr(usage, "model_dump", None)
    figures = dump() if callable(dump) else usage
    if not isinstance(figures, dict):
        return  # none reported, or of a shape no one can read
    upstream.model_usage(figures, model)
    tally = _CURRENT.get()
    if tally is not None:
        tally.tokens += total_tokens(figures)


def total_tokens(usage: Mapping[str, object]) -> int:
    """A call's tokens, read and written, in either API's shape."""
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    names = ("input_tokens", "output_tokens", "prompt_tokens", "completion_tokens")
    return sum(part for part in map(usage.get, names) if isinstance(part, int))
