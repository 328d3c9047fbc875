"""Shared fixtures: real processes for the stand-in model server and the app."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

import pytest

from standins import processes
from standins.processes import AppServer, ModelServer, SearchServer

# Short budgets keep fault tests quick; the behaviour is the same as with the defaults. Under
# 2 s, the retry budget fits exactly one wait of the stand-in's `Retry-After: 1`, even when its
# first 429 takes most of a second to come back on a busy machine. The model timeout applies
# between any two bytes of every answer in every test: 5 s leaves room for a stalled process.
FAST_FAULTS = {"CHAT_MODEL_RETRY_SECONDS": "1.9", "CHAT_MODEL_TIMEOUT_SECONDS": "5"}


@pytest.fixture(scope="session")
def model_server() -> Iterator[ModelServer]:
    with processes.model_server() as server:
        yield server


@pytest.fixture(scope="session")
def search_server() -> Iterator[SearchServer]:
    """The stand-in Azure AI Search service (REST over plain HTTP, API key)."""
    with processes.search_server() as server:
        yield server


def search_env(search_server: SearchServer, index: str) -> dict[str, str]:
    return {
        "AZURE_SEARCH_ENDPOINT": search_server.url,
        "AZURE_SEARCH_API_KEY": search_server.api_key,
        "AZURE_SEARCH_INDEX": index,
    }


def model_env(model_server: ModelServer) -> dict[str, str]:
    """An OpenAI-compatible server at a custom base URL, as Ollama would be: Chat Completions,
    a model that is not a reasoning model (so it takes a temperature)."""
    return {
        "OPENAI_BASE_URL": model_server.base_url,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_CHAT_MODEL": "llama3.1",
        **FAST_FAULTS,
    }


@pytest.fixture(scope="session")
def app_server(model_server: ModelServer) -> Iterator[AppServer]:
    """The app with streaming on, answering through the stand-in model server."""
    with processes.app_server(model_env(model_server)) as server:
        yield server


@pytest.fixture(scope="session")
def offline_app_server() -> Iterator[AppServer]:
    """The app with no model configured: offline mode over the bundled documentation."""
    with processes.app_server({}) as server:
        yield server


@pytest.fixture(scope="session")
def start_app(
    model_server: ModelServer,
) -> Callable[[Mapping[str, str]], contextlib.AbstractContextManager[AppServer]]:
    """Start another app process: the stand-in model settings plus the given overrides."""

    def start(overrides: Mapping[str, str]) -> contextlib.AbstractContextManager[AppServer]:
        return processes.app_server({**model_env(model_server), **overrides})

    return start
