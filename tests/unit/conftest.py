from __future__ import annotations

import openai
import pytest

from tests.support.openai_mock import MockModel


@pytest.fixture
def mock_model(monkeypatch: pytest.MonkeyPatch) -> MockModel:
    """Every OpenAI client the app creates talks to this mock instead of the network."""
    model = MockModel()
    monkeypatch.setattr(openai, "DefaultAioHttpClient", model.http_client)
    return model
