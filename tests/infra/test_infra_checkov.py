"""checkov over infra/: no failed check, and every skip is inline, used and explained."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CHECKOV = ROOT / ".venv-infra" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+):\s*(.*)")


@pytest.fixture(scope="module")
def report():
    """One checkov run over infra/ for the whole module (a few seconds)."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make .venv-infra/.installed` (make test does).")
    env = {
        **os.environ,
        # Offline: no policy metadata download, no version check, no platform.
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
    }
    env.pop("BC_API_KEY", None)
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(INFRA),
            "--framework",
            "bicep",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    # checkov exits 1 when a check failed; the tests below say which.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    parsed = json.loads(result.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep) == 1, (
        f"expected one bicep report, got {[r.get('check_type') for r in reports]}"
    )
    return bicep[0]


def inline_skips():
    """(file relative to infra/, check id) -> reason, from every `// checkov:skip=` comment."""
    skips = {}
    for path in sorted(INFRA.rglob("*.bicep")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                skips[(path.relative_to(INFRA).as_posix(), match.group(1))] = match.group(2)
    return skips


def test_checkov_parses_every_template(report):
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 0
    assert summary["passed"] > 0


def test_checkov_reports_no_failed_check(report):
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def test_every_skip_is_inline_with_a_reason(report):
    declared = inline_skips()
    for check in report["results"]["skipped_checks"]:
        key = (check["file_path"].lstrip("/"), check["check_id"])
        assert key in declared, f"{key} was skipped but not by an inline comment"
        reason = check["check_result"]["suppress_comment"].strip()
        assert len(reason) > 30, f"{key}: the reason is too short: {reason!r}"


def test_every_inline_skip_is_used(report):
    """A skip comment for a check that no longer applies hides nothing and misleads the reader."""
    used = {
        (check["file_path"].lstrip("/"), check["check_id"])
        for check in report["results"]["skipped_checks"]
    }
    unused = set(inline_skips()) - used
    assert not unused, f"skip comments for checks checkov did not run: {sorted(unused)}"
