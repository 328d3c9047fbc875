"""The GitHub workflows: CI runs `make test`; the deploy workflow signs in with OIDC and no secret
and passes every parameter with the defaults main.parameters.json has; both on Node.js 22; the
weekly deployment check compiles and lints the Bicep and previews `azd provision`, with OIDC."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra


def workflow(name):
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def steps(document):
    return [step for job in document["jobs"].values() for step in job["steps"]]


def test_ci_workflow_runs_make_test():
    ci = workflow("ci.yml")
    assert any(step.get("run", "").strip() == "make test" for step in steps(ci))


# Passed from the repository's secrets: the key the limits hash addresses with, which opens
# nothing. No credential is a secret: the workflow signs in with OIDC.
SECRETS = {"CHAT_LIMITS_KEY_SECRET"}


def test_deploy_workflow_signs_in_with_oidc_and_no_secret():
    text = (ROOT / ".github" / "workflows" / "azure-dev.yml").read_text(encoding="utf-8")
    assert set(re.findall(r"secrets\.(\w+)", text)) == SECRETS
    deploy = workflow("azure-dev.yml")
    assert deploy["permissions"]["id-token"] == "write"
    runs = "\n".join(step.get("run", "") for step in steps(deploy))
    assert "--federated-credential-provider github" in runs
    assert re.search(r"azd provision --no-prompt", runs)
    assert re.search(r"azd deploy --no-prompt", runs)
    env = next(iter(deploy["jobs"].values()))["env"]
    assert env["AZURE_PRINCIPAL_TYPE"] == "ServicePrincipal"


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
        kind = "secrets" if name in SECRETS else "vars"
        expected = f"${{{{ {kind}.{name}{fallback} }}}}"
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


# --- The weekly deployment check -------------------------------------------------------------


def triggers(document):
    """The `on:` block (PyYAML reads the bare key `on` as True)."""
    return document.get("on", document.get(True))


def test_deployment_check_runs_on_demand_and_weekly():
    check = workflow("azure-check.yml")
    on = triggers(check)
    assert "workflow_dispatch" in on
    [schedule] = on["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert minute.isdigit(), "at one time of day"
    assert hour.isdigit(), "at one time of day"
    assert (day, month) == ("*", "*")
    assert weekday.isdigit(), "on one day of the week"


def test_deployment_check_signs_in_with_oidc_and_no_secret():
    text = (ROOT / ".github" / "workflows" / "azure-check.yml").read_text(encoding="utf-8")
    assert "secrets." not in text
    check = workflow("azure-check.yml")
    assert check["permissions"] == {"id-token": "write", "contents": "read"}
    runs = "\n".join(step.get("run", "") for step in steps(check))
    assert "--federated-credential-provider github" in runs


def test_deployment_check_builds_lints_and_previews_without_deploying():
    runs = [step.get("run", "") for step in steps(workflow("azure-check.yml"))]
    text = "\n".join(runs)
    assert re.search(r"\bbicep build --file infra/main\.bicep", text)
    assert re.search(r"\bbicep lint --file infra/main\.bicep", text)
    assert re.search(r"^azd provision --preview --no-prompt$", text, re.M)
    assert "azd deploy" not in text
    assert "azd up" not in text
    assert not re.search(r"azd provision(?! --preview)", text), "only a preview"


def test_deployment_check_signs_in_before_previewing():
    runs = [step.get("run", "") for step in steps(workflow("azure-check.yml"))]
    login = next(i for i, run in enumerate(runs) if "azd auth login" in run)
    preview = next(i for i, run in enumerate(runs) if "azd provision --preview" in run)
    assert login < preview
