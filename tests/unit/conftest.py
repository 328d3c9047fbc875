from __future__ import annotations

from typing import Any

import openai
import pytest
from azure.search.documents.aio import SearchClient

from tests.support.openai_mock import MockModel
from tests.support.search_mock import FakeSearch


@pytest.fixture
def mock_model(monkeypatch: pytest.MonkeyPatch) -> MockModel:
    """Every OpenAI client the app creates talks to this mock instead of the network."""
    model = MockModel()
    monkeypatch.setattr(openai, "DefaultAioHttpClient", model.http_client)
    return model


@pytest.fixture
def fake_search(monkeypatch: pytest.MonkeyPatch) -> FakeSearch:
    """`SearchClient.search` of every search client returns this fake's documents."""
    fake = FakeSearch()

    async def search(self: SearchClient, **kwargs: Any) -> Any:
        return await fake(self, **kwargs)

    monkeypatch.setattr(SearchClient, "search", search)
    return fake
