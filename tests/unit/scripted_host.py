"""A model host that plays back a script, and the service over it: the framework-independent
API tested without a model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson

from chat_api import model_errors
from chat_api.errors import ChatError
from chat_api.events import End, TextDelta
from chat_api.prompt import Prompt
from chat_api.service import ChatService
from chat_api.settings import Limits, Settings


class ScriptedHost:
    """A model host that plays back a script: deltas, then End, or raises at a given point."""

    name = "scripted"
    model = "scripted-model"
    reasoning = False

    def __init__(
        self,
        words: list[str],
        fail_at: int | None = None,
        error: ChatError | None = None,
        first_word: asyncio.Event | None = None,
    ):
        self.words = words
        self.fail_at = fail_at
        self.error = error or model_errors.model_failed()
        self.first_word = first_word  # set: the model may answer
        self.closed = asyncio.Event()
        self.asked = asyncio.Event()  # set: the model call has begun
        self.prompts: list[Prompt] = []

    async def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | End]:
        self.prompts.append(prompt)
        self.asked.set()
        try:
            if self.first_word is not None:
                await self.first_word.wait()
            for index, word in enumerate(self.words):
                if index == self.fail_at:
                    raise self.error
                yield TextDelta(word)
        finally:
            self.closed.set()
        if self.fail_at is not None and self.fail_at >= len(self.words):
            raise self.error
        yield End()

    async def aclose(self) -> None:
        return None


def scripted_service(host: ScriptedHost, **limits: int) -> ChatService:
    return ChatService(Settings(limits=Limits(**limits)), host)


def json_bytes(value: object) -> bytes:
    return orjson.dumps(value)
