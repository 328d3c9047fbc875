"""Chat Completions (`POST {base}/chat/completions`): the API of OpenAI-compatible servers that
have no /responses (Ollama, llama.cpp, vLLM and the like).

Each streamed chunk is parsed with orjson and only its delta's text, finish reason and usage
are kept. Azure OpenAI's quirks are read as they come: a first chunk with no `choices` (prompt
filter results), a chunk whose `delta` is null, usage in a last chunk of its own, `[DONE]`.
"""

from __future__ import annotations

from typing import Any

from chat_api import model_errors
from chat_api.events import End, Step, TextDelta
from chat_api.hosts.model_events import json_object, text_field, token_usage, unexpected
from chat_api.hosts.sse import ServerSentEvent
from chat_api.prompt import Prompt

PATH = "/chat/completions"
_DONE = b"[DONE]"


def answer_body(
    prompt: Prompt, *, model: str, reasoning: bool, effort: str, max_output_tokens: int
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": prompt.messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    body.update(limits(reasoning, effort, max_output_tokens, prompt.temperature))
    return body


def limits(
    reasoning: bool, effort: str, max_output_tokens: int, temperature: float | None
) -> dict[str, Any]:
    """The length cap and sampling options a model of this kind accepts: a reasoning model
    refuses `max_tokens` and `temperature` and takes `max_completion_tokens`; the servers
    that only speak Chat Completions know `max_tokens`."""
    if reasoning:
        out: dict[str, Any] = {"max_completion_tokens": max_output_tokens}
        if effort:
            out["reasoning_effort"] = effort
        return out
    out = {"max_tokens": max_output_tokens}
    if temperature is not None:
        out["temperature"] = temperature
    return out


class ChatCompletionsReader:
    __slots__ = ("done", "finish", "model", "usage")

    def __init__(self) -> None:
        self.done = False
        self.finish: str | None = None
        self.usage: dict[str, int] = {}
        self.model = ""  # the model that answered, as the usage chunk says

    def read(self, events: list[ServerSentEvent]) -> list[TextDelta | Step]:
        # Chunks that arrived in one read leave as one delta: one line and one write instead
        # of several, so a busy process catches up instead of lagging.
        texts: list[str] = []
        for _, data in events:
            if data == _DONE:
                self.done = True
                break
            chunk = json_object(data)
            if "error" in chunk:
                raise model_errors.model_failed()
            usage = chunk.get("usage")
            if usage:
                if type(usage) is not dict:
                    raise unexpected()
                self.usage = token_usage(
                    usage, "prompt_tokens", "completion_tokens", "completion_tokens_details"
                )
                model = chunk.get("model")
                self.model = model if type(model) is str else self.model
            choices = chunk.get("choices")
            if not choices:
                continue  # Azure sends prompt filter results first
            if type(choices) is not list or type(choices[0]) is not dict:
                raise unexpected()
            choice = choices[0]
            delta = choice.get("delta")
            if delta:
                if type(delta) is not dict:
                    raise unexpected()
                text = text_field(delta, "content")
                if text:
                    texts.append(text)
            finish = choice.get("finish_reason")
            if finish:
                if type(finish) is not str:
                    raise unexpected()
                self.finish = finish
        if not texts:
            return []
        return [TextDelta(texts[0] if len(texts) == 1 else "".join(texts))]

    def end(self) -> End:
        if not self.done and self.finish is None:
            raise model_errors.stream_interrupted()
        if self.finish == model_errors.UPSTREAM_CONTENT_FILTER:
            raise model_errors.content_filtered()
        return End(self.finish or "stop", self.usage, self.model)
