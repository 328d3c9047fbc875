"""Reading the app's NDJSON answers in tests."""

from __future__ import annotations

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
