"""Azure OpenAI in the Bicep templates: a keyless Foundry resource with a chat and an embedding
deployment, no model or version hard-coded, GlobalStandard by default, and upgrades to a model's
version a deliberate choice."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import INFRA

pytestmark = pytest.mark.infra


def test_openai_is_keyless_with_chat_and_embedding_deployments(module_of, main):
    openai = module_of("openAi")
    account = openai.resource("Microsoft.CognitiveServices/accounts")
    assert account.get("properties.disableLocalAuth") is True
    assert account.get("properties.customSubDomainName") == "name"

    deployments = openai.resources("Microsoft.CognitiveServices/accounts/deployments")
    names = {openai.accessor_path(d.get("name")) for d in deployments}
    assert names == {"chatDeployment.name", "embeddingDeployment.name"}

    params = main.modules["openAi"]["config"]["params"]
    for kind in ("chat", "embedding"):
        spec = params[f"{kind}Deployment"]
        assert set(spec) == {"name", "model", "version", "sku", "capacity"}
        for value in spec.values():
            assert value in main.parameters, f"{kind} deployment {value} is not a parameter"


def test_openai_is_a_foundry_resource_serving_the_openai_endpoint(module_of):
    """Azure upgrades OpenAI accounts to Foundry (AIServices) in place; the kind cannot go back."""
    openai = module_of("openAi")
    account = openai.resource("Microsoft.CognitiveServices/accounts")
    assert account.get("kind") == "AIServices"
    endpoint = openai.outputs["endpoint"]["value"]
    assert "index_accessor" in json.dumps(endpoint)
    assert "OpenAI Language Model Instance API" in json.dumps(endpoint)


def test_no_model_is_hard_coded(main):
    """Models retire; the preprovision hook chooses one the region offers at provision time. The
    parameters are empty by default (azd resolves them before the hook runs; see
    test_infra_azd_parameters.py) and read from the variables the hook writes."""
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    for name, variable in (
        ("chatModelName", "AZURE_OPENAI_CHAT_MODEL"),
        ("embeddingModelName", "AZURE_OPENAI_EMBEDDING_MODEL"),
    ):
        assert main.default(name) == "", f"{name} has a hard-coded default"
        assert parameters["parameters"][name]["value"] == f"${{{variable}=}}", name
    for name, variable in (
        ("chatModelVersion", "AZURE_OPENAI_CHAT_MODEL_VERSION"),
        ("embeddingModelVersion", "AZURE_OPENAI_EMBEDDING_MODEL_VERSION"),
    ):
        assert main.default(name) == "", f"{name} pins a version by default"
        assert parameters["parameters"][name]["value"] == f"${{{variable}=}}", name


def test_deployments_leave_the_version_out_when_none_is_given(module_of):
    openai = module_of("openAi")
    by_name = {
        openai.accessor_path(d.get("name")): d
        for d in openai.resources("Microsoft.CognitiveServices/accounts/deployments")
    }
    for kind in ("chat", "embedding"):
        model = by_name[f"{kind}Deployment.name"].get("properties.model")
        merged = openai.call(openai.resolve(model), "union")
        assert merged["arg_1"]["format"] == "OpenAI"
        assert openai.accessor_path(merged["arg_1"]["name"]) == f"{kind}Deployment.model"
        assert "version" not in merged["arg_1"]
        version = openai.conditional(merged["arg_2"])
        empty = openai.call(version["condition"], "empty")
        assert openai.accessor_path(empty["item_to_test"]) == f"{kind}Deployment.version"
        assert version["true_value"] == {}
        assert openai.accessor_path(version["false_value"]["version"]) == (
            f"{kind}Deployment.version"
        )


def test_deployments_default_to_global_standard(main):
    """Standard (regional) embeddings are missing in several regions; GlobalStandard is not."""
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    for name, variable in (
        ("chatDeploymentSku", "AZURE_OPENAI_CHAT_DEPLOYMENT_SKU"),
        ("embeddingDeploymentSku", "AZURE_OPENAI_EMBEDDING_DEPLOYMENT_SKU"),
    ):
        assert main.default(name) == "GlobalStandard", name
        assert parameters["parameters"][name]["value"] == f"${{{variable}=GlobalStandard}}"


def test_model_version_upgrade_option_is_a_deliberate_parameter(module_of, main):
    openai = module_of("openAi")
    options = {"OnceCurrentVersionExpired", "OnceNewDefaultVersionAvailable", "NoAutoUpgrade"}
    for template, name in ((main, "modelVersionUpgradeOption"), (openai, "versionUpgradeOption")):
        assert set(template.decorator(name, "allowed")) == options
        assert template.default(name) == "OnceCurrentVersionExpired"
    for deployment in openai.resources("Microsoft.CognitiveServices/accounts/deployments"):
        assert deployment.get("properties.versionUpgradeOption") == "versionUpgradeOption"
    params = main.modules["openAi"]["config"]["params"]
    assert params["versionUpgradeOption"] == "modelVersionUpgradeOption"
