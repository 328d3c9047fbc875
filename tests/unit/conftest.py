from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from azure.search.documents.aio import SearchClient
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from chat_api.hosts import ModelHost, create_host, openai_compatible
from chat_api.prompt import Prompt
from chat_api.service import ChatService
from chat_api.settings import Settings
from chat_api.telemetry import NO_TELEMETRY, Telemetry
from tests.support.openai_mock import MockModel
from tests.support.search_mock import FakeSearch
from tests.unit.model_hosts import PROMPT
from tests.unit.telemetry_recording import Recorded, recording


@pytest.fixture
async def mock_model(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MockModel]:
    """The mocked model on a loopback port, and the default OpenAI base URL pointed at it, so
    every host the app creates talks to it instead of the network."""
    model = MockModel()
    server = await model.start()
    monkeypatch.setattr(openai_compatible, "OPENAI_BASE_URL", model.base_url)
    yield model
    await server.close()


class Opened:
    """The hosts and services a test opens; each is closed when the test ends, before the
    mocked model stops, so no connection outlives its event loop."""

    def __init__(self) -> None:
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def host(self, settings: Settings) -> ModelHost:
        host = create_host(settings)
        self._closers.append(host.aclose)
        return host

    def service(self, settings: Settings, telemetry: Telemetry = NO_TELEMETRY) -> ChatService:
        service = ChatService.from_settings(settings, telemetry)
        self._closers.append(service.aclose)
        return service

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            await close()


@pytest.fixture
async def opened(mock_model: MockModel) -> AsyncIterator[Opened]:
    things = Opened()
    yield things
    await things.aclose()


@pytest.fixture
def fake_search(monkeypatch: pytest.MonkeyPatch) -> FakeSearch:
    """`SearchClient.search` of every search client returns this fake's documents."""
    fake = FakeSearch()

    async def search(self: SearchClient, **kwargs: Any) -> Any:
        return await fake(self, **kwargs)

    monkeypatch.setattr(SearchClient, "search", search)
    return fake


@pytest.fixture
def collect(opened):
    """Answer a prompt (the model hosts' `PROMPT` unless given) with a host made from these
    settings (closed when the test ends)."""

    async def answer(settings: Settings, prompt: Prompt = PROMPT) -> list:
        host = opened.host(settings)
        return [event async for event in host.stream_answer(prompt)]

    return answer


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """Telemetry on, its spans and metrics kept in memory; off again when the test ends."""
    yield from recording()


@pytest.fixture
def recorded_unsampled() -> Iterator[Recorded]:
    """As `recorded`, with a sampler that keeps no trace (as a sampled-out answer has)."""
    yield from recording(sampler=ALWAYS_OFF)


@pytest.fixture
def recorded_with_content() -> Iterator[Recorded]:
    """As `recorded`, with the question, the search query and the answer's text recorded too."""
    yield from recording(record_content=True)
