"""Model hosts behind one small interface, chosen at start-up from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from chat_api import errors
from chat_api.events import End, Step, TextDelta
from chat_api.prompt import Prompt
from chat_api.protocol import Message, Overrides
from chat_api.settings import Settings


class ModelHost(Protocol):
    name: str
    model: str
    reasoning: bool  # a reasoning model: it takes no temperature

    def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | Step | End]:
        """Text deltas as the model produces them (and, from a reasoning model, its thinking as
        "Thinking" steps before them), then End. Raises ChatError before the first delta when
        the model cannot be reached; raises ChatError after it when the stream breaks."""
        ...

    async def generate_query(self, messages: list[Message]) -> str:
        """A search query for the conversation's last question (one small, non-streamed model
        call); raises ChatError when the model cannot be reached."""
        ...

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One embedding vector per text, in order; an empty list when the host has no
        embedding model. Raises ChatError when the model cannot be reached."""
        ...

    async def aclose(self) -> None: ...


def create_host(settings: Settings) -> ModelHost:
    """The model host the settings name; only its module (and its SDKs) is imported."""
    if settings.model_host == "offline":
        from chat_api.hosts.offline import OfflineHost

        return OfflineHost()
    from chat_api.hosts import openai_compatible

    return openai_compatible.create_host(settings)


def check_overrides(host: ModelHost, overrides: Overrides) -> None:
    """Refuse, before any model call, a request option the model would refuse."""
    if overrides.temperature is not None and host.reasoning:
        raise errors.bad_request(
            f"The model ({host.model}) is a reasoning model and takes no temperature: "
            "leave context.overrides.temperature out."
        )
