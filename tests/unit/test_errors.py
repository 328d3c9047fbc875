"""The table of error codes is the one source of what a client can be told: the OpenAPI
document, docs/api.md and the page's messages follow it, and no code is spelled out elsewhere."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import pytest

from chat_api import errors, model_errors, openapi
from chat_api.errors import TABLE, Code

ROOT = Path(__file__).resolve().parents[2]
PYTHON_SOURCES = [
    *sorted((ROOT / "chat_api").rglob("*.py")),
    *sorted((ROOT / "devhost").rglob("*.py")),
    ROOT / "function_app.py",
]


def test_every_code_has_one_row():
    assert set(TABLE) == set(Code)
    for code, kind in TABLE.items():
        assert 400 <= kind.status < 600, code
        assert kind.meaning, code
        assert kind.message, code


def test_an_error_made_from_a_code_takes_its_status_and_message_from_the_table():
    made = errors.error(Code.MODEL_TIMEOUT)
    assert (made.status, made.code, made.message) == (
        504,
        "model_timeout",
        TABLE[Code.MODEL_TIMEOUT].message,
    )
    assert made.retryable is True
    assert errors.error(Code.TOO_LARGE).retryable is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: errors.bad_request("x"),
        lambda: errors.too_large("x"),
        errors.unsupported_media_type,
        errors.client_disconnected,
        lambda: model_errors.rate_limited(3),
        model_errors.model_unavailable,
        model_errors.model_failed,
        model_errors.model_timeout,
        model_errors.stream_interrupted,
        model_errors.content_filtered,
        errors.search_unavailable,
        errors.search_timeout,
        errors.internal,
    ],
)
def test_each_named_error_agrees_with_the_table(make):
    made = make()
    assert made.code in TABLE
    assert made.status == TABLE[made.code].status


def test_docs_api_md_shows_the_table():
    assert errors.markdown_table() in (ROOT / "docs" / "api.md").read_text("utf-8")


def test_the_openapi_document_describes_every_code_under_its_status():
    responses = openapi.document()["paths"]["/api/chat"]["post"]["responses"]
    for code, kind in TABLE.items():
        description = responses[str(kind.status)]["description"]
        assert f"`{code}`: {kind.meaning}" in description


def test_the_page_has_words_for_every_code():
    script = (
        "import('./static_web/src/errors.js')"
        ".then((m) => console.log(JSON.stringify(m.ERROR_MESSAGES)))"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    messages = json.loads(result.stdout)
    missing = set(TABLE) - set(messages)
    assert not missing, f"static_web/src/errors.js has no words for {sorted(missing)}"
    for code in TABLE:
        assert messages[code]["title"], code


def _code_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals equal to a code, compared with something or passed as ChatError's code."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and side.value in TABLE:
                    found.append((node.lineno, side.value))
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "ChatError":
                found.append((node.lineno, "ChatError(...) built outside the table"))
    return found


def test_no_code_is_spelled_out_outside_the_table():
    offenders = []
    for path in PYTHON_SOURCES:
        if path == ROOT / "chat_api" / "errors.py":
            continue
        tree = ast.parse(path.read_text("utf-8"))
        offenders += [
            f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _code_literals(tree)
        ]
    assert offenders == []


def test_the_check_finds_a_code_compared_as_a_literal():
    tree = ast.parse('if error.code == "model_error":\n    pass\nChatError(500, "x", "y")\n')
    assert [what for _, what in _code_literals(tree)] == [
        "model_error",
        "ChatError(...) built outside the table",
    ]


def test_the_openapi_error_schema_lists_every_code_and_the_wait():
    detail = openapi.document()["components"]["schemas"]["ErrorDetail"]

    assert set(detail["properties"]["code"]["examples"]) == set(TABLE)
    assert "retry_after_seconds" in detail["properties"]
