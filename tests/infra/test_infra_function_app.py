"""The function app and its Flex Consumption plan in the Bicep templates: Linux, Python 3.13,
transport security, scale settings, its user-assigned identity and keyless platform settings."""

from __future__ import annotations

import re

import pytest

from tests.infra.conftest import INFRA, settings

pytestmark = pytest.mark.infra

PLAN = "Microsoft.Web/serverfarms"


def test_plan_is_flex_consumption(api):
    plan = api.resource(PLAN)
    assert plan.get("sku") == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan.get("properties.reserved") is True


def test_function_app_is_linux_on_the_flex_plan(api, site):
    assert site.get("kind") == "functionapp,linux"
    plan = api.resource(PLAN)
    assert api.accessor_path(site.get("properties.serverFarmId")) == f"{plan.symbol}.id"


def test_function_app_transport_security(site):
    assert site.get("properties.httpsOnly") is True
    assert site.get("properties.siteConfig.minTlsVersion") == "1.2"
    assert site.get("properties.siteConfig.scmMinTlsVersion") == "1.2"
    assert site.get("properties.siteConfig.ftpsState") == "Disabled"


def test_basic_publishing_credentials_are_off(api):
    policies = api.resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {p.get("name") for p in policies} == {"ftp", "scm"}
    assert all(p.get("properties.allow") is False for p in policies)


def test_function_app_config_runtime_and_deployment(api, site):
    config = site.get("properties.functionAppConfig")
    assert config["runtime"]["name"] == "python"
    assert config["runtime"]["version"] == "pythonVersion"
    assert api.default("pythonVersion") == "3.13"
    assert set(api.decorator("pythonVersion", "allowed")) == {"3.12", "3.13"}

    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert "deploymentContainerName" in storage["value"]
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }


def test_scale_settings_are_parameters(api, site, main):
    scale = site.get("properties.functionAppConfig.scaleAndConcurrency")
    assert scale["maximumInstanceCount"] == "maximumInstanceCount"
    assert scale["instanceMemoryMB"] == "instanceMemoryMB"
    assert scale["triggers"]["http"]["perInstanceConcurrency"] == "httpPerInstanceConcurrency"

    # One instance carries hundreds of streams: not the platform's default of 1 for Python.
    for template in (api, main):
        assert template.default("httpPerInstanceConcurrency") == 200
        assert template.decorator("httpPerInstanceConcurrency", "max_value") == 1000
        assert template.default("instanceMemoryMB") in template.decorator(
            "instanceMemoryMB", "allowed"
        )
        # The platform accepts a ceiling as low as 1 (40 was its old minimum): low caps spend.
        assert template.decorator("maximumInstanceCount", "min_value") == 1
        assert template.decorator("maximumInstanceCount", "max_value") == 1000
        assert 1 <= template.default("maximumInstanceCount") <= 1000

    params = main.modules["api"]["config"]["params"]
    for name in ("httpPerInstanceConcurrency", "maximumInstanceCount", "instanceMemoryMB"):
        assert params[name] == name, f"main.bicep does not pass {name} to the function app"


def test_function_app_runs_as_the_user_assigned_identity(site, main):
    identity = site.get("identity")
    assert identity["type"] == "UserAssigned"
    assert list(identity["userAssignedIdentities"]) == ["'${identityId}'"]
    params = main.modules["api"]["config"]["params"]
    assert main.accessor_path(params["identityId"]) == "identity.outputs.id"
    assert main.accessor_path(params["identityClientId"]) == "identity.outputs.clientId"


def test_platform_settings_are_keyless(api, site):
    platform = settings(api.variables["platformSettings"])
    assert platform["AzureWebJobsStorage__credential"] == "managedidentity"
    assert platform["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "AzureWebJobsStorage__blobServiceUri" in platform
    assert "AzureWebJobsStorage" not in platform, "a storage connection string holds a key"
    auth = platform["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert auth == "ClientId=${identityClientId};Authorization=AAD"

    # Flex Consumption rejects these; the runtime comes from functionAppConfig.
    indexing = settings(api.conditional(api.variables["indexingSettings"])["true_value"])
    for name in (
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTSHARE",
    ):
        assert name not in platform
        assert name not in indexing

    joined = api.call(site.get("properties.siteConfig.appSettings"), "concat")
    assert list(joined.values()) == ["platformSettings", "indexingSettings", "appSettings"]


def test_azure_runs_the_python_and_functions_runtime_the_tests_run(main):
    version = main.default("pythonVersion")
    assert version == "3.13"
    assert set(main.decorator("pythonVersion", "allowed")) == {"3.12", "3.13"}
    # requirements.txt pins the runtime Azure loads the app with on that Python.
    lock = (INFRA.parent / "requirements.txt").read_text("utf-8")
    assert re.search(
        rf"^azure-functions-runtime==[\d.]+ ; python_full_version >= '{version}'", lock, re.M
    )


RUNTIME_VENV = INFRA.parent / ".venv-functions" / "pyvenv.cfg"


@pytest.mark.skipif(not RUNTIME_VENV.exists(), reason="no Python 3.13+ environment on this machine")
def test_the_runtime_tests_run_the_app_on_the_python_azure_runs(main):
    version = main.default("pythonVersion")

    assert f"\nversion = {version}." in RUNTIME_VENV.read_text("utf-8")


def test_python_init_indexing_is_set_only_for_python_3_12(api):
    branches = api.conditional(api.variables["indexingSettings"])
    assert branches["condition"]["operator"]["operands"] == {
        "operand_1": "pythonVersion",
        "operand_2": "3.12",
    }
    assert settings(branches["true_value"]) == {"PYTHON_ENABLE_INIT_INDEXING": "1"}
    assert branches["false_value"] == []
