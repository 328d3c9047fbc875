"""Turning a validated request and the passages found into the messages a model answers,
with the history trimmed, oldest turns first, to an estimated token budget."""

from __future__ import annotations

from chat_api.hosts import Prompt
from chat_api.protocol import Message
from chat_api.retrieval import Passage

SYSTEM = (
    "You are a helpful assistant. Answer clearly and concisely in Markdown. "
    "If you do not know, say so."
)
SYSTEM_WITH_SOURCES = (
    "You are a helpful assistant that answers from the sources below. Cite every fact with the "
    "number of its source in square brackets, like [1] or [2][3]. If the sources do not contain "
    "the answer, say that you could not find it. Answer in Markdown.\n\nSources:\n"
)
_PER_MESSAGE_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """A conservative estimate that needs no tokenizer files: about three UTF-8 bytes per
    token, which over-counts English (about four) and matches most other scripts."""
    return len(text.encode("utf-8", "surrogatepass")) // 3 + _PER_MESSAGE_TOKENS


def build_prompt(
    messages: list[Message],
    sources: list[Passage],
    *,
    budget_tokens: int,
    temperature: float | None = None,
) -> Prompt:
    system = SYSTEM
    if sources:
        system = SYSTEM_WITH_SOURCES + "\n\n".join(
            f"[{n}] {p.title}\n{p.text}" for n, p in enumerate(sources, start=1)
        )
    history = trim_history(messages, budget_tokens - estimate_tokens(system))
    return Prompt(
        messages=[{"role": "system", "content": system}]
        + [{"role": m.role, "content": m.content} for m in history],
        question=messages[-1].content,
        sources=tuple(sources),
        temperature=temperature,
    )


def trim_history(messages: list[Message], budget_tokens: int) -> list[Message]:
    """Keep the newest messages that fit the budget, always the last (the question), and
    start the kept history with a user turn so roles still alternate."""
    kept: list[Message] = []
    used = 0
    for message in reversed(messages):
        cost = estimate_tokens(message.content)
        if kept and used + cost > budget_tokens:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    while len(kept) > 1 and kept[0].role != "user":
        kept.pop(0)
    return kept
