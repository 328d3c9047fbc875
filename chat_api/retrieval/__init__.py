"""Retrieval backends behind one small interface, chosen at start-up from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of a document that may ground an answer."""

    id: str
    title: str
    source: str
    text: str
    score: float = 0.0


class Retriever(Protocol):
    name: str

    async def search(self, query: str, *, top: int) -> list[Passage]: ...

    async def aclose(self) -> None: ...
