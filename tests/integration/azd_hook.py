"""How the model chooser's tests reach it: in process with a static token, or as azd runs the
preprovision hook, a process with the azd environment exported, a stand-in `azd` on the PATH (its
token, and `azd env set` recorded) and the stand-in management API on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from azure.core.credentials import AccessToken

from standins.management import StandInManagement
from tests.integration.conftest import NOW, SUBSCRIPTION, TOKEN

ROOT = Path(__file__).resolve().parents[2]


class StaticToken:
    """A credential that hands out one fixed token and calls nobody."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(TOKEN, int(NOW.timestamp()) + 3600)


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
        "REQUESTS_CA_BUNDLE": str(management.ca_bundle),
        "NO_PROXY": "127.0.0.1",
        "AZURE_RESOURCE_MANAGER_ENDPOINT": management.base_url,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_LOCATION": "eastus2",
        "AZURE_ENV_NAME": "dev",
        # Written by an earlier run (the first run's write: test_choose_models_preflight.py).
        "CHAT_LIMITS_KEY_SECRET": "0" * 64,
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
