from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.search.documents.aio import SearchClient

from chat_api.hosts import openai_compatible
from tests.support.openai_mock import MockModel
from tests.support.search_mock import FakeSearch


@pytest.fixture
async def mock_model(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MockModel]:
    """The mocked model on a loopback port, and the default OpenAI base URL pointed at it, so
    every host the app creates talks to it instead of the network."""
    model = MockModel()
    server = await model.start()
    monkeypatch.setattr(openai_compatible, "OPENAI_BASE_URL", model.base_url)
    hosts: list[openai_compatible.OpenAICompatibleHost] = []
    original_init = openai_compatible.OpenAICompatibleHost.__init__

    def recording_init(self: openai_compatible.OpenAICompatibleHost, **kwargs: Any) -> None:
        original_init(self, **kwargs)
        hosts.append(self)

    monkeypatch.setattr(openai_compatible.OpenAICompatibleHost, "__init__", recording_init)
    yield model
    for host in hosts:  # close their connections before the loop ends
        await host.aclose()
    await server.close()


@pytest.fixture
def fake_search(monkeypatch: pytest.MonkeyPatch) -> FakeSearch:
    """`SearchClient.search` of every search client returns this fake's documents."""
    fake = FakeSearch()

    async def search(self: SearchClient, **kwargs: Any) -> Any:
        return await fake(self, **kwargs)

    monkeypatch.setattr(SearchClient, "search", search)
    return fake
