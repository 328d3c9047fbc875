"""Telemetry on, its spans and metrics kept in memory (`recording.py`), for each test that asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from tests.unit.telemetry.recording import Recorded, recording


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
