"""Reading the app's NDJSON answers in tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson


def parse_lines(body: str | bytes) -> list[dict[str, Any]]:
    text = body.decode() if isinstance(body, bytes) else body
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


def answer_text(lines: list[dict[str, Any]]) -> str:
    return "".join(line["delta"].get("content") or "" for line in lines if "delta" in line)


def steps(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line["context"]["step"] for line in lines if "step" in line.get("context", {})]


def citations(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        found.extend(line.get("context", {}).get("citations", []))
    return found


def question(text: str, *history: str) -> dict[str, Any]:
    """A request body: optional alternating history, then the question."""
    roles = ["user", "assistant"]
    messages = [{"role": roles[i % 2], "content": c} for i, c in enumerate(history)]
    messages.append({"role": "user", "content": text})
    return {"messages": messages, "context": {"overrides": {}}, "sessionState": None}


def failure(response: Any) -> dict[str, Any]:
    """How an answer failed, whichever way it was told: an error status with the JSON error body
    (before the response began), or 200 with the error as the stream's last line (after). The
    stream's error line must carry what the status would have: code, message, and the wait. Either
    carries a request reference (checked, then left out of what is returned)."""
    if response.status_code != 200:
        error = dict(response.json()["error"])
        error["status"] = response.status_code
        if "retry-after" in response.headers:
            assert error["retry_after_seconds"] == int(response.headers["retry-after"])
    else:
        lines = parse_lines(response.content)
        assert "error" in lines[-1], "the answer did not fail"
        assert not any("finish_reason" in line.get("context", {}) for line in lines)
        error = {**lines[-1]["error"], "status": 200}
    assert re.fullmatch(r"[0-9a-f]{12}", error.pop("ref", "")), "no request reference"
    return error


def timed_lines(
    url: str, body: dict[str, Any]
) -> tuple[int, float, list[tuple[float, dict[str, Any]]]]:
    """POST a question and read the answer as it comes: the status, the seconds until the
    response began, and each line with the seconds until it arrived."""
    import time

    import httpx

    started = time.monotonic()
    with httpx.stream("POST", url, json=body, timeout=30) as response:
        began = time.monotonic() - started
        lines = [
            (time.monotonic() - started, orjson.loads(line))
            for line in response.iter_lines()
            if line.strip()
        ]
    return response.status_code, began, lines


def arrival(lines: list[tuple[float, dict[str, Any]]], step_title: str) -> float:
    """When the step with this title (or starting with it) arrived."""
    for at, line in lines:
        step = line.get("context", {}).get("step")
        if step and step["title"].startswith(step_title):
            return at
    raise AssertionError(f"no step {step_title!r}")


def first_word(lines: list[tuple[float, dict[str, Any]]]) -> float:
    return next(at for at, line in lines if line.get("delta", {}).get("content"))


def read_until_step(lines: Iterator[dict[str, Any]], title: str) -> list[dict[str, Any]]:
    """The lines read from a live answer up to and including the step whose title starts with
    `title`; fails if the answer ends first."""
    read = []
    for line in lines:
        read.append(line)
        if line.get("context", {}).get("step", {}).get("title", "").startswith(title):
            return read
    raise AssertionError(f"the answer ended without a step {title!r}: {read}")


def read_until_keepalives(lines: Iterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The lines read from a live answer until `count` keep-alive lines have come; fails if the
    answer ends first."""
    read = []
    for line in lines:
        read.append(line)
        if sum(1 for seen in read if seen.get("context", {}).get("keep_alive")) == count:
            return read
    raise AssertionError(f"the answer ended before {count} keep-alive lines: {read}")


def live_lines(response: Any) -> Iterator[dict[str, Any]]:
    """Each line of a streamed `httpx` response, parsed as it arrives."""
    return (orjson.loads(line) for line in response.iter_lines() if line.strip())
