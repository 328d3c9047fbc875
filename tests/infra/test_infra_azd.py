"""azure.yaml, what azd reads to provision and deploy: the templates, the two services, what the
function package leaves out and the hook scripts; and the deploy guide that walks through it."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def azure_yaml():
    return yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))


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
    left_out = (
        "static_web",
        "tests",
        "standins",
        "bench",
        "infra",
        "scripts",
        "local.settings.json",
    )
    for required in (*left_out, ".env*"):
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
    for name, platform, _, script in commands:
        assert script.is_file(), f"{name} ({platform}): {script} is missing"
        assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"


def _scripts(azure_yaml, wanted: str) -> list[tuple[str, Path]]:
    return [
        (s, script) for _, platform, s, script in hook_commands(azure_yaml) if platform == wanted
    ]


def test_every_posix_hook_is_a_sh_script(azure_yaml):
    posix = _scripts(azure_yaml, "posix")
    assert {shell for shell, _ in posix} == {"sh"}
    assert all(script.read_text(encoding="utf-8").startswith("#!/bin/sh\n") for _, script in posix)


def test_every_windows_hook_is_a_powershell_script(azure_yaml):
    windows = _scripts(azure_yaml, "windows")
    assert {shell for shell, _ in windows} == {"pwsh"}
    assert {script.suffix for _, script in windows} == {".ps1"}


# --- The deploy guide ------------------------------------------------------------------------


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


def guide_section(title: str) -> str:
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    start = guide.index(f"\n## {title}\n")
    end = guide.find("\n## ", start + 1)
    return guide[start : end if end != -1 else len(guide)]


def hook_sources() -> str:
    folder = ROOT / "scripts"
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.suffix in (".py", ".sh", ".ps1")
    )


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("needs Python 3.11 or newer", "needs Python 3.11 or newer"),
        ("has no venv module with pip", "has no venv module with pip"),
        ("not signed in. Run azd auth login", "not signed in. Run azd auth login"),
        ("No {purpose.label} model fits.", "No chat model fits."),
        ("closed to new customers (Deprecating)", "closed to new customers (Deprecating)"),
        (
            "No {purpose.label} model fits the subscription's quota in",
            "No chat model fits the subscription's quota in",
        ),
        (
            "A soft-deleted Azure OpenAI account of this environment holds its name",
            "A soft-deleted Azure OpenAI account of this environment holds its name",
        ),
        (
            "The subscription already has a Free search service",
            "The subscription already has a Free search service",
        ),
        ("gets the semantic ranker, which", "gets the semantic ranker, which"),
    ],
)
def test_troubleshooting_explains_each_message_the_hook_stops_with(written, shown):
    """Every stop of the preprovision hook is in the guide's table, worded as the hook words it."""
    assert written in hook_sources()
    assert shown in guide_section("Troubleshooting `azd up`")


def test_troubleshooting_covers_azures_own_errors():
    table = guide_section("Troubleshooting `azd up`")
    for error in ("InsufficientQuota", "FlagMustBeSetForRestore", "UnmatchedPrincipalType"):
        assert error in table, error


def test_deploy_guide_lets_azd_set_the_principal_type_and_claims_no_group():
    section = guide_section("Provisioning as a service principal")
    assert "sets both itself" in section
    assert "azd env set AZURE_PRINCIPAL_TYPE" not in section
    assert "`Group` grants" not in section


def test_deploy_guide_says_how_to_turn_on_the_weekly_check():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "### A weekly deployment check" in guide
    assert ".github/workflows/azure-check.yml" in guide
    assert "azd pipeline config" in guide
