"""The Bicep templates as a whole, read with pycep-parser: every file parses, main.bicep creates
the resource group and calls local modules, no key is listed or passed anywhere, and what azd
works with (outputs, the parameters file, service tags) matches main.bicep."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pycep import BicepParser

INFRA = Path(__file__).resolve().parents[2] / "infra"

pytestmark = pytest.mark.infra


def module_config(module):
    """A module declaration's body, its condition (`if (...)`) unwrapped."""
    config = module["config"]
    if set(config) == {"condition", "config"}:
        return config["config"]
    return config


# --- Every file ------------------------------------------------------------------------------


def test_bicep_file_parses(bicep_path):
    parsed = BicepParser().parse(file_path=bicep_path)
    assert parsed, f"{bicep_path} did not parse"
    assert parsed.get("resources") or parsed.get("modules"), f"{bicep_path} declares nothing"


def test_main_is_subscription_scoped_and_creates_the_resource_group(main):
    assert main.scope == "subscription"
    groups = main.resources("Microsoft.Resources/resourceGroups")
    assert len(groups) == 1
    assert all(module_config(m)["scope"] == groups[0].symbol for m in main.modules.values())


def test_modules_are_local_files(main, templates):
    assert main.modules, "main.bicep declares no modules"
    for template in templates.values():
        for symbol, module in template.modules.items():
            assert module["type"] == "local", f"{template.name}: module {symbol} is not local"
            assert (template.path.parent / module["detail"]["path"]).is_file()


def test_no_keys_are_listed_or_passed_anywhere(templates):
    list_call = re.compile(r"\blist[A-Z]\w*\s*\(|\.list\w*\s*\(", re.IGNORECASE)
    for template in templates.values():
        assert "listkeys" not in template.text.lower(), f"{template.name} mentions listKeys"
        assert not list_call.search(template.text), f"{template.name} calls a list* function"
        # The one secret parameter is the key the limits hash addresses with: it opens nothing.
        secure = re.findall(r"@secure\(\)\n(?:@.*\n)*param (\w+) ", template.text)
        assert template.text.count("@secure") == len(secure), template.name
        assert set(secure) <= {"limitsKeySecret"}, f"{template.name} takes a secret parameter"
        assert "connectionstrings" not in template.text.lower()


def test_conditional_existing_resources_never_get_an_empty_name(templates, main):
    """ARM rejects an `existing` declaration with an empty name even when its condition is false."""
    for template in templates.values():
        for resource in template.resources(existing=True):
            if resource.condition is None:
                continue
            name = resource.get("name")
            assert name in template.parameters, f"{template.name}: {resource.symbol} name"
            assert template.default(name) in (None,), f"{template.name}: {name} defaults"
            assert (template.decorator(name, "min_length") or 0) >= 1
            for symbol, module in main.modules.items():
                path = (INFRA / module["detail"]["path"]).resolve()
                if path != template.path.resolve():
                    continue
                passed = module["config"]["params"][name]
                value = main.resolve(passed)
                assert isinstance(value, str), f"{symbol}.{name} is computed: {passed!r}"
                assert value.strip(), f"{symbol}.{name} is empty"
                # Without an output to follow, the module must wait for the resource explicitly.
                assert "search" in module["config"].get("dependsOn", []), symbol


# --- Outputs and parameters for azd ----------------------------------------------------------


def test_outputs_azd_writes_for_local_use(main):
    assert {
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "OPENAI_HOST",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_CHAT_DEPLOYMENT",
        "AZURE_OPENAI_CHAT_MODEL",
        "AZURE_OPENAI_EMBEDDING_DEPLOYMENT",
        "AZURE_SEARCH_ENDPOINT",
        "AZURE_SEARCH_INDEX",
        "AZURE_STORAGE_TABLE_ENDPOINT",
        "CHAT_LIMITS_TABLE",
        "API_BASE_URL",
        "WEB_URL",
    } <= set(main.outputs)
    assert main.accessor_path(main.outputs["API_BASE_URL"]["value"]) == "api.outputs.url"
    assert main.outputs["OPENAI_HOST"]["value"] == "azure"
    # The function app's own identity is for Azure only; a local run uses the developer's sign-in.
    assert "AZURE_CLIENT_ID" not in main.outputs


def test_parameters_file_matches_main(main):
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    given = set(parameters["parameters"])
    assert given <= set(main.parameters), given - set(main.parameters)
    required = {name for name, p in main.parameters.items() if p["default"] is None}
    assert required <= given, required - given
    for name, entry in parameters["parameters"].items():
        assert re.fullmatch(r"\$\{[A-Z0-9_]+(=[^}]*)?\}", entry["value"]), name


def test_service_tags_for_azd(main):
    for symbol, service in (("api", "api"), ("web", "web")):
        tags = main.call(main.modules[symbol]["config"]["params"]["tags"], "union")
        assert tags["arg_2"] == {"'azd-service-name'": service}
