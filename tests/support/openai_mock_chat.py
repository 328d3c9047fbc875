"""The Chat Completions and embeddings objects the mock model serves, built from the `openai`
SDK's own types so they serialise exactly as the API sends them: a streamed answer with Azure
OpenAI's quirks, a finished completion, and embeddings with deterministic vectors.
"""

from __future__ import annotations

import time
from typing import Any

from openai.types import CreateEmbeddingResponse, Embedding
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.chat_completion import Choice as CompletionChoice
from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta
from openai.types.chat.chat_completion_message import ChatCompletionMessage
from openai.types.completion_usage import CompletionUsage
from openai.types.create_embedding_response import Usage as EmbeddingUsage

from standins.model_answers import embed


def embeddings_for(texts: list[str], model: str) -> CreateEmbeddingResponse:
    return CreateEmbeddingResponse(
        object="list",
        model=model,
        data=[
            Embedding(object="embedding", index=i, embedding=embed(text))
            for i, text in enumerate(texts)
        ],
        usage=EmbeddingUsage(prompt_tokens=len(texts), total_tokens=len(texts)),
    )


def chunks_for(text: str, model: str = "gpt-4o-mini") -> list[ChatCompletionChunk]:
    """A streamed answer with Azure OpenAI's quirks: a first chunk with no choices (prompt
    filter results), a role-only chunk, one chunk per word, a chunk whose delta is None, the
    finish chunk, and a usage chunk."""
    created = int(time.time())

    def chunk(choices: list[Choice], **extra: Any) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id="chatcmpl-mock",
            object="chat.completion.chunk",
            created=created,
            model=model,
            choices=choices,
            **extra,
        )

    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    out = [chunk([])]
    out.append(chunk([Choice(index=0, delta=ChoiceDelta(role="assistant", content=""))]))
    out += [chunk([Choice(index=0, delta=ChoiceDelta(content=p))]) for p in pieces]
    out.append(chunk([Choice.model_construct(index=0, delta=None, finish_reason=None)]))
    out.append(chunk([Choice(index=0, delta=ChoiceDelta(), finish_reason="stop")]))
    usage = CompletionUsage(
        prompt_tokens=7, completion_tokens=len(pieces), total_tokens=7 + len(pieces)
    )
    out.append(chunk([], usage=usage))
    return out


# What a non-streamed completion says it read (the search query's call, say).
COMPLETION_PROMPT_TOKENS = 41


def completion_for(text: str, model: str = "gpt-4o-mini") -> ChatCompletion:
    output = len(text.split())
    return ChatCompletion(
        id="chatcmpl-mock",
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[
            CompletionChoice(
                index=0,
                finish_reason="stop",
                message=ChatCompletionMessage(role="assistant", content=text),
            )
        ],
        usage=CompletionUsage(
            prompt_tokens=COMPLETION_PROMPT_TOKENS,
            completion_tokens=output,
            total_tokens=COMPLETION_PROMPT_TOKENS + output,
        ),
    )


def sse(chunks: list[ChatCompletionChunk]) -> list[bytes]:
    """Server-sent events as the API writes them, one network read each."""
    events = [b"data: " + c.model_dump_json(exclude_unset=True).encode() + b"\n\n" for c in chunks]
    return [*events, b"data: [DONE]\n\n"]
