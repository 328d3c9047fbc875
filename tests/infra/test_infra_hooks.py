"""The azd hook scripts, run with `sh` in a scratch copy of the layout: the page's config written
from the API's address, ingestion after provisioning only when asked, and the model chooser run
before it; and the PowerShell scripts that mirror them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra

SH = shutil.which("sh") or "/bin/sh"


@pytest.fixture
def scratch(tmp_path):
    """A copy of scripts/ beside an empty static_web/, a stub `make ingest` and no real azd."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "static_web").mkdir()
    (tmp_path / "Makefile").write_text(
        "ingest:\n\t@echo ingested $$AZURE_SEARCH_INDEX $(INGEST_ARGS) > ingest.log\n",
        encoding="utf-8",
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_azd = bin_dir / "azd"
    fake_azd.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    fake_azd.chmod(0o755)
    return tmp_path


def run_hook(scratch, script, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "API_", "RUN_"))}
    clean["PATH"] = f"{scratch / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(
        [SH, str(scratch / "scripts" / script)],
        cwd=scratch,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_config(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_config_hook_writes_the_api_origin(scratch):
    result = run_hook(scratch, "write-web-config.sh", API_BASE_URL="https://func-api.example.net/")
    assert result.returncode == 0, result.stderr
    config = scratch / "static_web" / "public" / "config.json"
    assert read_config(config) == {"apiBaseUrl": "https://func-api.example.net"}
    assert not (scratch / "static_web" / "dist").exists()


def test_config_hook_also_updates_a_built_page(scratch):
    (scratch / "static_web" / "dist").mkdir()
    shutil.copy(
        ROOT / "static_web" / "staticwebapp.template.json",
        scratch / "static_web" / "dist" / "staticwebapp.config.json",
    )
    result = run_hook(scratch, "write-web-config.sh", API_BASE_URL="https://func-api.example.net")
    assert result.returncode == 0, result.stderr
    built = read_config(scratch / "static_web" / "dist" / "config.json")
    assert built == {"apiBaseUrl": "https://func-api.example.net"}
    swa = read_config(scratch / "static_web" / "dist" / "staticwebapp.config.json")
    policy = swa["globalHeaders"]["Content-Security-Policy"]
    assert "connect-src 'self' https://func-api.example.net;" in policy
    assert "azurewebsites" not in policy


@pytest.mark.parametrize("url", ["", "http://func-api.example.net", 'https://x"y', "https://a b"])
def test_config_hook_refuses_a_missing_or_unsafe_url(scratch, url):
    result = run_hook(scratch, "write-web-config.sh", API_BASE_URL=url)
    assert result.returncode != 0
    assert "API_BASE_URL" in result.stderr
    assert not (scratch / "static_web" / "public" / "config.json").exists()


def test_postprovision_skips_ingestion_unless_asked(scratch):
    result = run_hook(
        scratch,
        "postprovision.sh",
        API_BASE_URL="https://func-api.example.net",
        AZURE_SEARCH_ENDPOINT="https://srch.example.net",
    )
    assert result.returncode == 0, result.stderr
    assert (scratch / "static_web" / "public" / "config.json").is_file()
    assert not (scratch / "ingest.log").exists()


def test_postprovision_runs_make_ingest_when_asked(scratch):
    result = run_hook(
        scratch,
        "postprovision.sh",
        API_BASE_URL="https://func-api.example.net",
        RUN_INGESTION="true",
        AZURE_SEARCH_ENDPOINT="https://srch.example.net",
        AZURE_SEARCH_INDEX="knowledge-base",
    )
    assert result.returncode == 0, result.stderr
    # Waiting out the role assignments this provisioning made.
    assert (scratch / "ingest.log").read_text(encoding="utf-8").strip() == (
        "ingested knowledge-base --wait-for-access 300"
    )


def test_postprovision_does_not_ingest_without_search(scratch):
    result = run_hook(
        scratch, "postprovision.sh", API_BASE_URL="https://func-api.example.net", RUN_INGESTION="1"
    )
    assert result.returncode == 0, result.stderr
    assert "USE_AZURE_SEARCH" in result.stderr
    assert not (scratch / "ingest.log").exists()


def fake_hook_python(scratch):
    """A .venv-azd whose python only records how it was called."""
    bin_dir = scratch / ".venv-azd" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(
        f"#!/bin/sh\nprintf '%s|%s\\n' \"$(pwd)\" \"$*\" >> '{scratch / 'python.log'}'\n",
        encoding="utf-8",
    )
    python.chmod(0o755)
    (scratch / "requirements-azd.txt").write_text("azure-identity==1.27.0\n", encoding="utf-8")
    return scratch / "python.log"


def test_preprovision_installs_its_lock_once_then_runs_the_model_chooser(scratch):
    log = fake_hook_python(scratch)
    first = run_hook(scratch, "preprovision.sh")
    assert first.returncode == 0, first.stderr
    second = run_hook(scratch, "preprovision.sh")
    assert second.returncode == 0, second.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls == [
        f"{scratch}|-m pip install --quiet --disable-pip-version-check -r "
        f"{scratch / 'requirements-azd.txt'}",
        f"{scratch}|-m scripts.choose_models",
        f"{scratch}|-m scripts.choose_models",
    ]


def test_preprovision_installs_again_when_the_lock_changes(scratch):
    log = fake_hook_python(scratch)
    assert run_hook(scratch, "preprovision.sh").returncode == 0
    (scratch / "requirements-azd.txt").write_text("azure-identity==9.9.9\n", encoding="utf-8")
    assert run_hook(scratch, "preprovision.sh").returncode == 0
    installs = [c for c in log.read_text(encoding="utf-8").splitlines() if "pip install" in c]
    assert len(installs) == 2


def fake_system_python(scratch, *, version, has_venv=True):
    """A `python` that answers the hook's checks as an interpreter of `version` would."""
    below = tuple(int(part) for part in version.split(".")) < (3, 11)
    python = scratch / "bin" / "python-under-test"
    python.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        f"  *version_info*) exit {1 if below else 0} ;;\n"
        f"  *python_version*) echo {version} ;;\n"
        f"  *ensurepip*) exit {0 if has_venv else 1} ;;\n"
        "esac\n"
        f"echo \"$*\" >> '{scratch / 'system-python.log'}'\n"
        "exit 1\n",
        encoding="utf-8",
    )
    python.chmod(0o755)
    return str(python)


def test_preprovision_names_a_python_too_old_for_it(scratch):
    python = fake_system_python(scratch, version="3.10.12")
    result = run_hook(scratch, "preprovision.sh", PYTHON=python)
    assert result.returncode == 1
    assert "needs Python 3.11 or newer" in result.stderr
    assert "is 3.10.12" in result.stderr
    assert "PYTHON=python3.13 azd up" in result.stderr
    assert not (scratch / ".venv-azd").exists()


def test_preprovision_says_how_to_get_venv_where_it_is_missing(scratch):
    python = fake_system_python(scratch, version="3.11.2", has_venv=False)
    result = run_hook(scratch, "preprovision.sh", PYTHON=python)
    assert result.returncode == 1
    assert "sudo apt install python3-venv" in result.stderr
    assert not (scratch / "system-python.log").exists(), "no venv was attempted"


def test_preprovision_names_a_python_not_on_the_path(scratch):
    result = run_hook(scratch, "preprovision.sh", PYTHON="python3.99-nowhere")
    assert result.returncode == 1
    assert "'python3.99-nowhere' is not on the PATH" in result.stderr


def test_preprovision_checks_python_on_windows_too():
    script = (ROOT / "scripts" / "preprovision.ps1").read_text(encoding="utf-8")
    assert "sys.version_info < (3, 11)" in script
    assert "import ensurepip, venv" in script
    assert "needs Python 3.11 or newer" in script


def test_preprovision_hook_runs_the_chooser_on_windows_too():
    script = (ROOT / "scripts" / "preprovision.ps1").read_text(encoding="utf-8")
    assert "-m scripts.choose_models" in script
    assert "requirements-azd.txt" in script
    assert ".venv-azd" in script
    assert "exit $LASTEXITCODE" in script


def test_powershell_hooks_mirror_the_posix_ones():
    scripts = ROOT / "scripts"
    config = (scripts / "write-web-config.ps1").read_text(encoding="utf-8")
    assert "API_BASE_URL" in config
    assert "static_web/public" in config
    assert "static_web/dist" in config
    assert "^https://" in config
    assert "connect-src 'self'" in config
    post = (scripts / "postprovision.ps1").read_text(encoding="utf-8")
    assert "write-web-config.ps1" in post
    assert "RUN_INGESTION" in post
    assert 'make ingest INGEST_ARGS="--wait-for-access 300"' in post
