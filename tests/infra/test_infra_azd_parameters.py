"""The parameters `azd provision` passes to infra/main.bicep, resolved the way azd resolves them:
main.parameters.json's `${NAME}` and `${NAME=default}` filled from the azd environment, an empty
value counting as none, and a parameter with neither a value nor a Bicep default asked for at a
prompt (an error under `azd up --no-prompt`). azd does this before the preprovision hook runs, so
a new environment must get through it with only what azd itself sets; what the hook writes is
read on the next resolution. The budget's start date is resolved twice across a month boundary."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from scripts.choose_models.asks import CHAT, EMBEDDINGS
from scripts.choose_models.budget import START_VARIABLE, start_date_to_record
from scripts.choose_models.limits_key import KEY_VARIABLE, key_to_record
from tests.infra.conftest import INFRA, Template

pytestmark = pytest.mark.infra

# What azd puts in a new environment before any hook runs: `azd init`/`azd up` asks for the name,
# subscription and region (or takes them from the command line in CI), and azd sets the signed-in
# principal's id and type itself.
SET_BY_AZD = {
    "AZURE_ENV_NAME": "dev",
    "AZURE_LOCATION": "eastus2",
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
    "AZURE_PRINCIPAL_ID": "11111111-1111-1111-1111-111111111111",
    "AZURE_PRINCIPAL_TYPE": "User",
}
_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?:=([^}]*))?\}")


def parameters_file() -> dict[str, str]:
    document = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    return {name: entry["value"] for name, entry in document["parameters"].items()}


def resolve(main: Template, env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """(the value of every parameter, the parameters azd would prompt for)."""
    given = parameters_file()
    values: dict[str, Any] = {}
    prompts = []
    for name, declared in main.parameters.items():
        value = ""
        if name in given:
            value = _REFERENCE.sub(lambda m: env.get(m[1], m[2] or ""), given[name])
        if value != "":
            values[name] = value
        elif declared["default"] is not None:
            values[name] = declared["default"]
        else:
            prompts.append(name)
    return values, prompts


def test_a_new_environment_resolves_every_parameter_without_a_prompt(main):
    _, prompts = resolve(main, SET_BY_AZD)
    assert prompts == [], f"azd would ask for {prompts}, and azd up --no-prompt would fail"


def test_the_model_parameters_are_empty_until_the_hook_fills_them(main):
    values, _ = resolve(main, SET_BY_AZD)
    assert (values["chatModelName"], values["embeddingModelName"]) == ("", "")
    after_hook = {
        **SET_BY_AZD,
        CHAT.variable: "gpt-5.6-luna",
        EMBEDDINGS.variable: "text-embedding-3-small",
    }
    values, _ = resolve(main, after_hook)
    assert (values["chatModelName"], values["embeddingModelName"]) == (
        "gpt-5.6-luna",
        "text-embedding-3-small",
    )


def test_every_parameter_read_from_a_variable_has_a_default_or_a_setter(main):
    """Each `${NAME}` without a default is set by azd or written by the preprovision hook."""
    written_by_hook = {CHAT.variable, EMBEDDINGS.variable, START_VARIABLE, KEY_VARIABLE}
    for name, value in parameters_file().items():
        for variable, default in _REFERENCE.findall(value):
            has_default = "=" in value or main.parameters[name]["default"] is not None
            assert has_default or variable in SET_BY_AZD, name
            if main.parameters[name]["default"] == "" and variable not in SET_BY_AZD:
                assert default == "", f"{name}: the file's default hides the hook's value"
    for name in ("chatModelName", "embeddingModelName", "budgetStartDate", "limitsKeySecret"):
        variables = {v for v, _ in _REFERENCE.findall(parameters_file()[name])}
        assert variables & written_by_hook, f"{name} is not read from a variable the hook writes"


def provisioned(main: Template, env: dict[str, str], today: date) -> dict[str, Any]:
    """One `azd provision`: the hook runs (writing into `env`), then the parameters resolve."""
    start = start_date_to_record(env, today)
    if start is not None:
        env[START_VARIABLE] = start
    key = key_to_record(env)
    if key is not None:
        env[KEY_VARIABLE] = key
    values, prompts = resolve(main, env)
    assert prompts == []
    return values


def provision(main: Template, env: dict[str, str], today: date) -> str:
    return str(provisioned(main, env, today)["budgetStartDate"])


def test_the_budget_keeps_its_start_date_in_the_next_month(main):
    env = {**SET_BY_AZD, "AZURE_BUDGET_ALERT_EMAIL": "ops@example.com"}
    assert provision(main, env, date(2027, 1, 31)) == "2027-01-01"
    assert provision(main, env, date(2027, 2, 1)) == "2027-01-01"


def test_a_budget_added_later_starts_in_the_month_it_is_added(main):
    env = dict(SET_BY_AZD)
    assert provision(main, env, date(2027, 1, 31)) == ""
    env["AZURE_BUDGET_ALERT_EMAIL"] = "ops@example.com"
    assert provision(main, env, date(2027, 3, 2)) == "2027-03-01"


def test_the_limits_key_is_generated_by_the_first_provision_and_passed_by_every_later_one(main):
    env = dict(SET_BY_AZD)
    first = provisioned(main, env, date(2027, 1, 31))["limitsKeySecret"]
    second = provisioned(main, env, date(2027, 2, 1))["limitsKeySecret"]

    assert len(first) == 64
    assert second == first


def test_the_budget_module_takes_its_start_date_and_never_computes_it(main, module_of):
    budget = module_of("budget")
    assert "utcnow(" not in budget.text.lower()
    assert budget.default("startDate") is None, "a default would let the date drift again"
    params = main.modules["budget"]["config"]["config"]["params"]
    assert params["startDate"] == "budgetStartDate"
