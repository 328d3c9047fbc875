"""Fixtures and test data that test modules of one subject share: for the model chooser (its
selection, and the hook as azd runs it) a stand-in of the Azure management API and what a region
offers; for grounded answers the knowledge base in the stand-in Azure AI Search, and the app that
answers from it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from standins.management import (
    EMBEDDING_CAPABILITIES,
    StandInManagement,
    model_entry,
    running,
)
from standins.processes import run_ingest
from tests.conftest import model_env, search_env
from tests.support.ndjson import question

# --- The model chooser: a region's model list --------------------------------------------------

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
TOKEN = "stand-in-token"
REGION = "swedencentral"
NOW = datetime.now(UTC)
PAST = NOW - timedelta(days=30)
SOON = NOW + timedelta(days=120)
LATER = NOW + timedelta(days=400)


def embedding(name: str = "text-embedding-3-small", version: str = "1", **kw: Any) -> dict:
    return model_entry(name, version, capabilities=EMBEDDING_CAPABILITIES, **kw)


def late_2026_region() -> list[dict]:
    """Roughly what a region offered at the end of 2026."""
    return [
        model_entry("gpt-4.1-mini", "2025-04-14", lifecycle="Deprecated", retires=PAST),
        model_entry("gpt-5.4-mini", "2026-03-17", lifecycle="Deprecating", retires=SOON),
        model_entry("gpt-5.6-mini", "2026-11-01", lifecycle="Preview", retires=LATER),
        model_entry("gpt-5-mini", "2025-08-07", retires=LATER),
        model_entry("gpt-5.5", "2026-04-24", retires=LATER),
        model_entry("o4-mini", "2025-04-16", retires=LATER),
        model_entry("gpt-4o", "2024-11-20", capabilities=("chatCompletion",), retires=LATER),
        embedding(skus={"GlobalStandard": None}, retires=LATER),
        embedding("text-embedding-3-large", "1", retires=LATER),
        embedding("text-embedding-ada-002", "2", lifecycle="Legacy", retires=SOON),
    ]


@pytest.fixture
def management(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInManagement]:
    ca = tmp_path / "ca.pem"
    with running(StandInManagement(SUBSCRIPTION, TOKEN), ca) as standin:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        yield standin


@pytest.fixture
def azd_bin(tmp_path: Path) -> Path:
    """A stand-in `azd` (token and `env set`) and an `az` that is never signed in."""
    from tests.integration.azd_hook import fake_tools

    return fake_tools(tmp_path, {"token": TOKEN, "expiresOn": "2099-01-01T00:00:00Z"})


# --- Grounded answers: a knowledge base in Azure AI Search ------------------------------------

INDEX = "grounded-answers"
KNOWLEDGE = {
    "pricing.md": (
        "# Pricing\n\n## Basic plan\n\nThe basic plan costs 10 euros a month. It includes email "
        "support.\n\n## Pro plan\n\nThe pro plan costs 30 euros a month and adds phone support.\n"
    ),
    "returns.md": "# Returns\n\nReturns are free within 30 days of delivery.\n",
    "shipping.txt": "Parcels ship within two working days. Express delivery costs 5 euros.",
}
# Short, so a search that hangs fails quickly; long enough for any search a busy machine slows.
SEARCH_TIMEOUT = {"CHAT_SEARCH_TIMEOUT_SECONDS": "3"}


# Ingested once for every module that asks: the documents stay in the session's search stand-in.
@pytest.fixture(scope="package")
def filled_search(search_server, model_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("grounded") / "kb"
    folder.mkdir()
    for name, text in KNOWLEDGE.items():
        (folder / name).write_text(text, encoding="utf-8")
    result = run_ingest(
        {**model_env(model_server), **search_env(search_server, INDEX)},
        str(folder),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    return search_server


@pytest.fixture(scope="module")
def rag_app(start_app, filled_search):
    with start_app({**search_env(filled_search, INDEX), **SEARCH_TIMEOUT}) as server:
        yield server


def ask(app, text: str, route: str = "/api/chat/stream", **overrides) -> httpx.Response:
    body = question(text)
    body["context"]["overrides"].update(overrides)
    return httpx.post(app.url + route, json=body, timeout=20)
