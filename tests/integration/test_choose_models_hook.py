"""The preprovision hook that chooses the models (`python -m scripts.choose_models`) as a process,
as azd runs it: it signs in through a stand-in `azd` on the PATH, reads a stand-in of the Azure
management API's model list on loopback, and writes its choice into the azd environment. No
request leaves the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from standins.management import StandInManagement
from tests.integration.conftest import REGION, SUBSCRIPTION, TOKEN, late_2026_region

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def azd_bin(tmp_path: Path) -> Path:
    """A stand-in `azd` (token and `env set`) and an `az` that is never signed in."""
    return fake_tools(tmp_path, {"token": TOKEN, "expiresOn": "2099-01-01T00:00:00Z"})


def fake_tools(tmp_path: Path, token_answer: dict[str, str] | None) -> Path:
    """`azd` that hands out `token_answer` (or refuses: not signed in) and records `env set`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "azd-env-set.log"
    if token_answer:
        answer = "printf '%s\\n' '" + json.dumps(token_answer) + "'"
    else:
        answer = "echo 'not logged in, run `azd auth login` to login' >&2; exit 1"
    (bin_dir / "azd").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f"  'auth token') {answer} ;;\n"
        f"  'env set') shift 2; printf '%s\\n' \"$*\" >> '{log}' ;;\n"
        "  *) exit 1 ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    (bin_dir / "az").write_text("#!/bin/sh\necho 'Please run az login' >&2\nexit 1\n")
    for tool in ("azd", "az"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def run_hook(management: StandInManagement, azd_bin: Path, **env: str):
    clean = {
        "PATH": f"{azd_bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(azd_bin.parent),
        "REQUESTS_CA_BUNDLE": str(management.ca_bundle),  # type: ignore[attr-defined]
        "NO_PROXY": "127.0.0.1",
        "AZURE_RESOURCE_MANAGER_ENDPOINT": management.base_url,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_LOCATION": "eastus2",
        "AZURE_ENV_NAME": "dev",
    }
    return subprocess.run(
        [sys.executable, "-m", "scripts.choose_models"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def env_sets(azd_bin: Path) -> list[str]:
    log = azd_bin.parent / "azd-env-set.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_hook_writes_the_choice_into_the_azd_environment_and_says_why(management, azd_bin):
    management.offer("eastus2", *late_2026_region())
    result = run_hook(management, azd_bin)
    assert result.returncode == 0, result.stderr
    assert env_sets(azd_bin) == [
        "AZURE_OPENAI_CHAT_MODEL gpt-5-mini --environment dev",
        "AZURE_OPENAI_EMBEDDING_MODEL text-embedding-3-small --environment dev",
    ]
    assert "Chat model: gpt-5-mini (default version 2025-08-07)" in result.stdout
    assert "why: AZURE_OPENAI_CHAT_MODEL is not set" in result.stdout
    # Signed in through azd, as under `azd up`; the token went to the stand-in only.
    assert {r["authorization"] for r in management.requests} == {f"Bearer {TOKEN}"}


def test_hook_asks_the_azure_openai_region_when_it_differs(management, azd_bin):
    management.offer(REGION, *late_2026_region())
    result = run_hook(management, azd_bin, AZURE_OPENAI_LOCATION=REGION)
    assert result.returncode == 0, result.stderr
    assert all(f"/locations/{REGION}/" in r["path"] for r in management.requests)


def test_hook_keeps_a_set_model_that_still_fits_without_rewriting_it(management, azd_bin):
    management.offer("eastus2", *late_2026_region())
    result = run_hook(
        management,
        azd_bin,
        AZURE_OPENAI_CHAT_MODEL="gpt-5.5",
        AZURE_OPENAI_EMBEDDING_MODEL="text-embedding-3-small",
    )
    assert result.returncode == 0, result.stderr
    assert env_sets(azd_bin) == []
    assert "Chat model: gpt-5.5" in result.stdout


def test_hook_stops_on_a_retired_model_and_writes_nothing(management, azd_bin):
    management.offer("eastus2", *late_2026_region())
    result = run_hook(management, azd_bin, AZURE_OPENAI_CHAT_MODEL="gpt-4.1-mini")
    assert result.returncode == 1
    assert "AZURE_OPENAI_CHAT_MODEL=gpt-4.1-mini" in result.stderr
    assert "gpt-5-mini 2025-08-07: fits" in result.stderr
    assert env_sets(azd_bin) == []
    assert "Traceback" not in result.stderr


def test_hook_explains_a_refused_sign_in(management, azd_bin):
    management.token = "another-token"
    result = run_hook(management, azd_bin)
    assert result.returncode == 1
    assert "the management API answered 401" in result.stderr
    assert "AZURE_OPENAI_MODEL_CHECK false" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_hook_asks_to_sign_in_when_neither_azd_nor_az_is(management, tmp_path):
    management.offer("eastus2", *late_2026_region())
    signed_out = fake_tools(tmp_path, None)
    result = run_hook(management, signed_out)
    assert result.returncode == 1
    assert "not signed in. Run azd auth login" in result.stderr
    assert management.requests == []
    assert "Traceback" not in result.stderr


def test_hook_needs_the_region(management, azd_bin):
    result = run_hook(management, azd_bin, AZURE_LOCATION="")
    assert result.returncode == 2
    assert "AZURE_LOCATION" in result.stderr
    assert management.requests == []


def test_hook_can_be_told_not_to_check(management, azd_bin):
    result = run_hook(
        management,
        azd_bin,
        AZURE_OPENAI_MODEL_CHECK="false",
        AZURE_OPENAI_CHAT_MODEL="my-model",
        AZURE_OPENAI_EMBEDDING_MODEL="my-embedding",
    )
    assert result.returncode == 0, result.stderr
    assert "without checking" in result.stdout
    assert management.requests == []
    assert env_sets(azd_bin) == []
