"""Callers the app cannot tell apart are said loudly: a WARNING at most once a minute with what
to fix, and every such request counted."""

from __future__ import annotations

import logging

import pytest

from chat_api.limits.callers import CallerWatch
from chat_api.limits.client import identify


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_behind_a_front_end_a_private_address_is_warned_about_once_a_minute(caplog):
    signals: list[str] = []
    clock = Clock()
    watch = CallerWatch("client-ip", signals.append, clock)

    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            watch.saw(identify("10.0.0.4:5000"))
        clock.now += 61
        watch.saw(identify("10.0.0.4:5000"))

    assert len(_warnings(caplog)) == 2
    assert "CHAT_CLIENT_ADDRESS_HEADER" in _warnings(caplog)[0]
    assert "10.0.0.4" not in " ".join(_warnings(caplog))  # no address in a log line
    assert signals == ["callers_look_alike.private"] * 6


def test_without_a_front_end_a_loopback_peer_is_normal():
    signals: list[str] = []
    watch = CallerWatch("", signals.append, Clock())

    watch.saw(identify("127.0.0.1"))

    assert signals == []


def test_one_address_for_most_of_a_minutes_traffic_is_warned_about(caplog):
    signals: list[str] = []
    clock = Clock()
    watch = CallerWatch("client-ip", signals.append, clock)

    with caplog.at_level(logging.WARNING):
        for n in range(100):
            watch.saw(identify("20.1.2.3" if n % 4 else f"20.1.3.{n}"))
        clock.now += 60
        watch.saw(identify("20.1.2.3"))  # the minute turned: the last one is judged

    assert signals == ["callers_look_alike.one_address"]
    assert "one address sent most requests" in _warnings(caplog)[0]
