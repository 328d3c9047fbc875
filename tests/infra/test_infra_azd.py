"""azure.yaml, the azd hook scripts, the GitHub workflows and the infra tooling pins."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
SH = shutil.which("sh") or "/bin/sh"


@pytest.fixture(scope="module")
def azure_yaml():
    return yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))


def workflow(name):
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def steps(document):
    return [step for job in document["jobs"].values() for step in job["steps"]]


# --- azure.yaml ------------------------------------------------------------------------------


def test_azure_yaml_points_at_the_bicep_templates(azure_yaml):
    infra = azure_yaml["infra"]
    assert infra["provider"] == "bicep"
    assert (ROOT / infra["path"] / f"{infra['module']}.bicep").is_file()
    assert (ROOT / infra["path"] / f"{infra['module']}.parameters.json").is_file()


def test_azure_yaml_has_the_api_and_web_services(azure_yaml):
    services = azure_yaml["services"]
    assert set(services) == {"api", "web"}
    api, web = services["api"], services["web"]
    assert (api["host"], api["language"], api["project"]) == ("function", "python", ".")
    assert (web["host"], web["project"], web["dist"]) == ("staticwebapp", "static_web", "dist")
    # The API project is the repository root: the Functions app files are there.
    for name in ("function_app.py", "host.json", "requirements.txt"):
        assert (ROOT / api["project"] / name).is_file(), name


def test_function_package_leaves_out_the_page_tests_and_tooling(azure_yaml):
    """azd zips the api project (the repository root) minus what .funcignore lists."""
    assert azure_yaml["services"]["api"]["project"] == "."
    funcignore = ROOT / ".funcignore"
    assert funcignore.is_file(), "without .funcignore the whole repository is uploaded"
    entries = {line.strip().rstrip("/") for line in funcignore.read_text().splitlines()}
    for required in ("static_web", "tests", "infra", "scripts", "local.settings.json"):
        assert required in entries, f".funcignore does not leave out {required}"
    assert entries & {".venv", ".venv*"}, ".funcignore does not leave out the virtual environments"


def hook_commands(azure_yaml):
    """(hook, platform, shell, script path) for every hook azure.yaml names."""
    for name, hook in azure_yaml.get("hooks", {}).items():
        for platform in ("posix", "windows"):
            assert platform in hook, f"hook {name} has no {platform} script"
            yield name, platform, hook[platform]["shell"], ROOT / hook[platform]["run"]


def test_hooks_cover_provisioning_and_deployment(azure_yaml):
    assert {"postprovision", "predeploy"} <= set(azure_yaml["hooks"])


def test_every_hook_script_exists_and_is_executable(azure_yaml):
    commands = list(hook_commands(azure_yaml))
    assert commands
    for name, platform, shell, script in commands:
        assert script.is_file(), f"{name} ({platform}): {script} is missing"
        assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"
        if platform == "posix":
            assert shell == "sh"
            assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
        else:
            assert shell == "pwsh"
            assert script.suffix == ".ps1"


# --- Hook scripts, run in a scratch copy of the layout ---------------------------------------


@pytest.fixture
def scratch(tmp_path):
    """A copy of scripts/ beside an empty static_web/, a stub `make ingest` and no real azd."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "static_web").mkdir()
    (tmp_path / "Makefile").write_text(
        "ingest:\n\t@echo ingested $$AZURE_SEARCH_INDEX > ingest.log\n", encoding="utf-8"
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
    result = run_hook(scratch, "write-web-config.sh", API_BASE_URL="https://func-api.example.net")
    assert result.returncode == 0, result.stderr
    built = read_config(scratch / "static_web" / "dist" / "config.json")
    assert built == {"apiBaseUrl": "https://func-api.example.net"}


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
    assert (scratch / "ingest.log").read_text(encoding="utf-8").strip() == "ingested knowledge-base"


def test_postprovision_does_not_ingest_without_search(scratch):
    result = run_hook(
        scratch, "postprovision.sh", API_BASE_URL="https://func-api.example.net", RUN_INGESTION="1"
    )
    assert result.returncode == 0, result.stderr
    assert "USE_AZURE_SEARCH" in result.stderr
    assert not (scratch / "ingest.log").exists()


def test_powershell_hooks_mirror_the_posix_ones():
    scripts = ROOT / "scripts"
    config = (scripts / "write-web-config.ps1").read_text(encoding="utf-8")
    assert "API_BASE_URL" in config
    assert "static_web/public" in config
    assert "static_web/dist" in config
    assert "^https://" in config
    post = (scripts / "postprovision.ps1").read_text(encoding="utf-8")
    assert "write-web-config.ps1" in post
    assert "RUN_INGESTION" in post
    assert "make ingest" in post


# --- GitHub workflows ------------------------------------------------------------------------


def test_ci_workflow_runs_make_test():
    ci = workflow("ci.yml")
    assert any(step.get("run", "").strip() == "make test" for step in steps(ci))


def test_deploy_workflow_signs_in_with_oidc_and_no_secret():
    text = (ROOT / ".github" / "workflows" / "azure-dev.yml").read_text(encoding="utf-8")
    assert "secrets." not in text
    deploy = workflow("azure-dev.yml")
    assert deploy["permissions"]["id-token"] == "write"
    runs = "\n".join(step.get("run", "") for step in steps(deploy))
    assert "--federated-credential-provider github" in runs
    assert re.search(r"azd provision --no-prompt", runs)
    assert re.search(r"azd deploy --no-prompt", runs)
    env = next(iter(deploy["jobs"].values()))["env"]
    assert env["AZURE_PRINCIPAL_TYPE"] == "ServicePrincipal"


# --- Tooling ---------------------------------------------------------------------------------


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
    test_rule = re.search(r"^test:(.*)$", makefile, re.M)
    assert test_rule, "no test target"
    assert "$(VENV)-infra/.installed" in test_rule.group(1)


def test_tests_parse_with_the_pycep_parser_checkov_uses():
    """tests/infra (main venv) and checkov (.venv-infra) must read the templates alike."""
    infra = (ROOT / "requirements-infra.txt").read_text(encoding="utf-8")
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    pin = re.compile(r"^pycep-parser==(\S+)", re.M)
    assert pin.search(dev), "requirements-dev.txt does not pin pycep-parser"
    assert pin.search(dev).group(1) == pin.search(infra).group(1)


def test_deploy_guide_covers_cost_streaming_lockdown_and_teardown():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for topic in (
        "azd up",
        "What gets created",
        "Idle",
        "Per use",
        "CHAT_STREAMING false",
        "EasyAuth",
        "azd down --purge",
        "federated",
    ):
        assert topic in guide, topic
