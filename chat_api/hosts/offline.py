"""The offline mode: no language model. It answers with the passages retrieval found,
quoted and cited, streamed through the same protocol as a model's answer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from chat_api.events import End, TextDelta
from chat_api.prompt import Prompt, keyword_query
from chat_api.protocol import Message

NO_MODEL = (
    "No language model is configured, so this answer quotes the documentation passages that "
    "best match your question. To get real answers, set `OPENAI_BASE_URL` (any "
    "OpenAI-compatible server) or `AZURE_OPENAI_ENDPOINT` and restart (see docs/configuration.md)."
)
NOTHING_FOUND = (
    "I found nothing in the documentation that matches your question. Try asking about running, "
    "configuring or deploying the app, or about its API."
)
_QUOTE_WORDS = 90
_TOKEN = re.compile(r"\s*\S+")


class OfflineHost:
    name = "offline"
    model = "none"
    reasoning = False

    async def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | End]:
        for index, word in enumerate(_TOKEN.findall(compose_answer(prompt))):
            yield TextDelta(word)
            if index % 16 == 15:
                await asyncio.sleep(0)  # let other streams write between bursts
        yield End("stop", {})

    async def generate_query(self, messages: list[Message]) -> str:
        """With no model, the query is the question's keywords."""
        return keyword_query(messages[-1].content)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """No embedding model: searches are full-text only."""
        return []

    async def aclose(self) -> None:
        return None


def compose_answer(prompt: Prompt) -> str:
    parts = [NO_MODEL]
    if not prompt.sources:
        parts.append(NOTHING_FOUND)
    for number, passage in enumerate(prompt.sources, start=1):
        parts.append(f"**{passage.title}** [{number}]\n\n> {_quote(passage.text)}")
    return "\n\n".join(parts)


def _quote(text: str) -> str:
    # Flattened into one quoted paragraph, so code fences must not open a block.
    words = [w for w in text.split() if not w.startswith("```")]
    quoted = " ".join(words[:_QUOTE_WORDS])
    return quoted + (" …" if len(words) > _QUOTE_WORDS else "")
