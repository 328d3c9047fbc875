"""What the two model APIs' streams have in common: a reader turns decoded server-sent events
into the pipeline's events, and anything of an unexpected shape becomes one error."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import orjson

from chat_api import model_errors
from chat_api.errors import ChatError
from chat_api.events import End, Step, TextDelta
from chat_api.hosts.sse import ServerSentEvent

log = logging.getLogger(__name__)


class AnswerReader(Protocol):
    """Reads one streamed answer. `done` is set once the model said the answer is over."""

    done: bool

    def read(self, events: list[ServerSentEvent]) -> list[TextDelta | Step]:
        """The answer's text (merged per read) and thinking from these events; raises
        ChatError when the model reports a failure or sends something unreadable."""
        ...

    def end(self) -> End:
        """The end of a complete answer; raises ChatError when the stream stopped short."""
        ...


def unexpected(what: str = "a stream event") -> ChatError:
    """The model sent something this app cannot read: the client gets a model error, never a
    500 or a value of the wrong type."""
    log.warning("the model service sent %s of an unexpected shape", what)
    return model_errors.model_failed()


def json_object(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise unexpected() from None
    if type(value) is not dict:
        raise unexpected()
    return value


def text_field(value: dict[str, Any], key: str) -> str:
    """A string field that must be a string when present; "" when absent or null."""
    text = value.get(key)
    if type(text) is str:
        return text
    if text is None:
        return ""
    raise unexpected()


def token_usage(
    usage: dict[str, Any], input_key: str, output_key: str, details_key: str
) -> dict[str, int]:
    """The model's usage in the one shape the end line carries, whichever API reported it:
    input, output (thinking included) and total tokens, and the thinking tokens when known."""
    out: dict[str, int] = {}
    for name, key in (("input_tokens", input_key), ("output_tokens", output_key)):
        value = usage.get(key)
        if type(value) is int:
            out[name] = value
    total = usage.get("total_tokens")
    if type(total) is int:
        out["total_tokens"] = total
    details = usage.get(details_key)
    reasoning = details.get("reasoning_tokens") if type(details) is dict else None
    if type(reasoning) is int:
        out["reasoning_tokens"] = reasoning
    return out
