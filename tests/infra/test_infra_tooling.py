"""The infrastructure tooling: checkov and pycep-parser pinned, installed by `make test` in their
own environment, and the tests reading the templates with the same pycep-parser as checkov."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra


def test_infra_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (ROOT / "requirements-infra.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pins = dict(line.split("==", 1) for line in lines)
    assert set(pins) == {"checkov", "pycep-parser"}
    assert all(re.fullmatch(r"\d+(\.\d+)+", version) for version in pins.values())


def test_make_test_installs_the_infra_environment():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\$\(VENV\)-infra/\.installed: requirements-infra\.txt$", makefile, re.M)
    # What `make test` would run with every target out of date: the environment comes before
    # the suite.
    planned = subprocess.run(
        ["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    installs = [i for i, line in enumerate(planned) if "-r requirements-infra.txt" in line]
    suite = [i for i, line in enumerate(planned) if "-m pytest" in line]
    assert installs, "make test does not install the infra environment"
    assert suite, "make test does not run the suite"
    assert installs[0] < suite[0]


def test_tests_parse_with_the_pycep_parser_checkov_uses():
    """tests/infra (main venv) and checkov (.venv-infra) must read the templates alike."""
    infra = (ROOT / "requirements-infra.txt").read_text(encoding="utf-8")
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    pin = re.compile(r"^pycep-parser==(\S+)", re.M)
    assert pin.search(dev), "requirements-dev.txt does not pin pycep-parser"
    assert pin.search(dev).group(1) == pin.search(infra).group(1)
