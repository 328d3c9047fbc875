"""The Responses API (`POST {base}/responses`): Azure OpenAI's v1 endpoint and OpenAI.

The answer is one streamed call with `store: false` (nothing kept on the service), the
server's instructions apart from the conversation, and a length cap. Its events are many and
large (`response.created` and `response.completed` repeat the whole request), so each is
sorted by its `event:` name first and only the few that matter are parsed: text deltas,
thinking (reasoning summary) deltas, and how the answer ended.
"""

from __future__ import annotations

from typing import Any

from chat_api import model_errors
from chat_api.errors import ChatError
from chat_api.events import End, Step, TextDelta
from chat_api.hosts.model_events import json_object, text_field, token_usage, unexpected
from chat_api.hosts.sse import ServerSentEvent
from chat_api.prompt import Prompt

PATH = "/responses"
THINKING = "Thinking"

_TEXT = b"response.output_text.delta"
_REFUSAL = b"response.refusal.delta"  # a refusal is what the model says: shown as the answer
_SUMMARY = b"response.reasoning_summary_text.delta"
_COMPLETED = b"response.completed"
_INCOMPLETE = b"response.incomplete"
_FAILED = b"response.failed"
_ERROR = b"error"


def split_instructions(messages: list[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    """The leading system message becomes `instructions`; the rest is the `input`."""
    if messages and messages[0].get("role") == "system":
        return messages[0]["content"], messages[1:]
    return "", messages


def answer_body(
    prompt: Prompt,
    *,
    model: str,
    reasoning: bool,
    effort: str,
    summary: bool,
    max_output_tokens: int,
) -> dict[str, Any]:
    instructions, conversation = split_instructions(prompt.messages)
    body: dict[str, Any] = {
        "model": model,
        "input": conversation,
        "stream": True,
        "store": False,
        "max_output_tokens": max_output_tokens,
    }
    if instructions:
        body["instructions"] = instructions
    body.update(options(reasoning, effort, summary, prompt.temperature))
    return body


def options(
    reasoning: bool, effort: str, summary: bool, temperature: float | None
) -> dict[str, Any]:
    """A reasoning model gets its effort and a request for thinking summaries, and never a
    temperature (it refuses one); any other model gets its temperature when one is set."""
    if reasoning:
        wanted: dict[str, str] = {}
        if effort:
            wanted["effort"] = effort
        if summary:
            wanted["summary"] = "auto"
        return {"reasoning": wanted} if wanted else {}
    return {} if temperature is None else {"temperature": temperature}


def lowest_effort(model_name: str) -> str:
    """The least thinking the model allows, for small calls such as the search query:
    GPT-5.1 and later take `none`, GPT-5 `minimal`, the o-series and the unknown `low`."""
    name = model_name.lower().rsplit("/", 1)[-1]
    if name.startswith("gpt-5."):
        return "none"
    if name.startswith("gpt-5"):
        return "minimal"
    return "low"


class ResponsesReader:
    __slots__ = ("_part", "_parts", "done", "finish", "model", "usage")

    def __init__(self) -> None:
        self.done = False
        self.finish = "stop"
        self.usage: dict[str, int] = {}
        self.model = ""  # the model that answered, as the end event says
        self._part: tuple[object, object] | None = None  # (reasoning item, summary index)
        self._parts = 0

    def read(self, events: list[ServerSentEvent]) -> list[TextDelta | Step]:
        out: list[TextDelta | Step] = []
        texts: list[str] = []
        thoughts: list[str] = []
        new_thought = False  # whether `thoughts` starts a thought or continues the last one
        for name, data in events:
            value: dict[str, Any] | None = None
            if not name:  # a server that names events only inside the data
                value = json_object(data)
                name = text_field(value, "type").encode()
            if name in (_TEXT, _REFUSAL):
                if thoughts:
                    out.append(self._thought(thoughts, new_thought))
                    thoughts = []
                texts.append(text_field(value or json_object(data), "delta"))
            elif name == _SUMMARY:
                if texts:
                    out.append(_text(texts))
                    texts = []
                value = value or json_object(data)
                part = (value.get("item_id"), value.get("summary_index"))
                if part != self._part:
                    if thoughts:
                        out.append(self._thought(thoughts, new_thought))
                        thoughts = []
                    self._part = part
                    self._parts += 1
                    new_thought = True
                elif not thoughts:
                    new_thought = False
                thoughts.append(text_field(value, "delta"))
            elif name in (_COMPLETED, _INCOMPLETE, _FAILED):
                self._ended(name, value or json_object(data))
                break
            elif name == _ERROR:
                raise failure(model_errors.body_error_code(value or json_object(data)))
            # Every other event (created, in_progress, output_item.added, *.done, ...) is
            # bookkeeping this app needs nothing from: it is not even parsed.
        if thoughts:
            out.append(self._thought(thoughts, new_thought))
        if texts:
            out.append(_text(texts))
        return out

    def _thought(self, pieces: list[str], new: bool) -> Step:
        """One line per thought per read: its first words start a step, later ones grow it."""
        detail = pieces[0] if len(pieces) == 1 else "".join(pieces)
        return Step(THINKING, detail, id=f"thinking-{self._parts}", append=not new)

    def _ended(self, name: bytes, value: dict[str, Any]) -> None:
        response = value.get("response")
        if type(response) is not dict:
            raise unexpected()
        if name == _FAILED:
            error = response.get("error")
            raise failure(model_errors.body_error_code({"error": error}))
        usage = response.get("usage")
        if usage is not None and type(usage) is not dict:
            raise unexpected()
        self.usage = token_usage(
            usage or {}, "input_tokens", "output_tokens", "output_tokens_details"
        )
        model = response.get("model")
        self.model = model if type(model) is str else ""
        if name == _INCOMPLETE:
            details = response.get("incomplete_details")
            reason = details.get("reason") if type(details) is dict else None
            if reason == model_errors.UPSTREAM_CONTENT_FILTER:
                raise model_errors.content_filtered()
            self.finish = "length" if reason in (None, "max_output_tokens") else str(reason)
        self.done = True

    def end(self) -> End:
        if not self.done:
            raise model_errors.stream_interrupted()
        return End(self.finish, self.usage, self.model)


def _text(texts: list[str]) -> TextDelta:
    return TextDelta(texts[0] if len(texts) == 1 else "".join(texts))


def failure(code: str | None) -> ChatError:
    """A failure the model reported inside its stream, by its error code."""
    if code and "rate_limit" in code:
        return model_errors.rate_limited(1)
    if code in (model_errors.UPSTREAM_CONTENT_FILTER, "content_policy_violation"):
        return model_errors.content_filtered()
    if code in ("server_is_overloaded", "overloaded"):
        return model_errors.model_unavailable()
    return model_errors.model_failed()
