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
    for required in ("static_web", "tests", "infra", "scripts", "local.settings.json", ".env*"):
        assert required in entries, f".funcignore does not leave out {required}"
    assert entries & {".venv", ".venv*"}, ".funcignore does not leave out the virtual environments"


def hook_commands(azure_yaml):
    """(hook, platform, shell, script path) for every hook azure.yaml names."""
    for name, hook in azure_yaml.get("hooks", {}).items():
        for platform in ("posix", "windows"):
            assert platform in hook, f"hook {name} has no {platform} script"
            yield name, platform, hook[platform]["shell"], ROOT / hook[platform]["run"]


def test_hooks_cover_provisioning_and_deployment(azure_yaml):
    assert {"preprovision", "postprovision", "predeploy"} <= set(azure_yaml["hooks"])


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
        ROOT / "static_web" / "staticwebapp.config.json",
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


def parameter_variables():
    """NAME -> default (None when it has none) for every ${NAME} main.parameters.json reads."""
    text = (ROOT / "infra" / "main.parameters.json").read_text(encoding="utf-8")
    found = {}
    for name, default in re.findall(r"\$\{([A-Z0-9_]+)(?:=([^}]*))?\}", text):
        found[name] = default or None
    return found


def test_deploy_workflow_passes_every_parameter_with_the_same_defaults():
    env = workflow("azure-dev.yml")["jobs"]["deploy"]["env"]
    # azd fills in the signed-in principal's id itself.
    for name, default in parameter_variables().items():
        if name == "AZURE_PRINCIPAL_ID":
            continue
        assert name in env, f"the deploy workflow does not pass {name}"
        if name in ("AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_TYPE"):
            continue
        fallback = f" || '{default}'" if default else ""
        expected = f"${{{{ vars.{name}{fallback} }}}}"
        assert env[name] == expected, name
    assert env["AZURE_PRINCIPAL_TYPE"] == "ServicePrincipal"


@pytest.mark.parametrize("name", ["ci.yml", "azure-dev.yml"])
def test_workflows_use_node_22(name):
    versions = [
        str(step["with"]["node-version"])
        for step in steps(workflow(name))
        if step.get("uses", "").startswith("actions/setup-node")
    ]
    assert versions == ["22"]


def test_deploy_guide_covers_models_cost_streaming_lockdown_and_teardown():
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
        "AZURE_OPENAI_CHAT_MODEL",
        "AZURE_OPENAI_MODEL_CHECK",
        "AZURE_PRINCIPAL_TYPE",
        "GlobalStandard",
        "Node.js 22",
    ):
        assert topic in guide, topic
    assert re.search(r"checked on \d{4}-\d{2}-\d{2}", guide), "the model guidance carries no date"
    assert "gpt-4.1-mini`, `2025-04-14" not in guide, "the retired default is still documented"
