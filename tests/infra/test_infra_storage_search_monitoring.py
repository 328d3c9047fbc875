"""Storage, Azure AI Search and monitoring in the Bicep templates: each keyless, storage private,
search optional on any tier, the logs sent to Log Analytics; and the page's static web app on
the free plan."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.infra

# --- Storage ---------------------------------------------------------------------------------


def test_storage_is_keyless_and_private(module_of):
    storage = module_of("storage")
    account = storage.resource("Microsoft.Storage/storageAccounts")
    props = account.get("properties")
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["defaultToOAuthAuthentication"] is True
    containers = storage.resources("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {c.symbol for c in containers} == {"deploymentContainer", "hostContainers"}
    for container in containers:
        assert container.get("properties.publicAccess") == "None"
    assert storage.default("hostContainerNames") == ["azure-webjobs-hosts", "azure-webjobs-secrets"]


# --- Azure AI Search ---------------------------------------------------------------------------


def test_search_is_optional_keyless_and_ranks_semantically(module_of, main):
    search = module_of("search")
    service = search.resource("Microsoft.Search/searchServices")
    assert service.condition == "enabled"
    props = service.get("properties")
    assert props["disableLocalAuth"] is True
    assert "authOptions" not in props, "authOptions conflicts with disableLocalAuth"
    semantic = search.conditional(props["semanticSearch"])
    assert semantic["condition"]["operator"]["operands"] == {
        "operand_1": "skuName",
        "operand_2": "free",
    }
    assert (semantic["true_value"], semantic["false_value"]) == ("disabled", "free")

    assert main.parameters["useAzureSearch"]["type"] == "bool"
    assert main.modules["search"]["config"]["params"]["enabled"] == "useAzureSearch"


def test_search_has_no_managed_identity_so_every_tier_deploys(module_of, main):
    """The Free tier refuses a managed identity, and the service never uses one."""
    search = module_of("search")
    service = search.resource("Microsoft.Search/searchServices")
    assert "identity" not in service.body
    tiers = set(main.decorator("searchSkuName", "allowed"))
    assert "free" in tiers
    assert tiers == set(search.decorator("skuName", "allowed"))


# --- Monitoring and the page -----------------------------------------------------------------


def test_monitoring_accepts_entra_id_only(module_of):
    monitoring = module_of("monitoring")
    insights = monitoring.resource("Microsoft.Insights/components")
    assert insights.get("properties.DisableLocalAuth") is True
    workspace = monitoring.resource("Microsoft.OperationalInsights/workspaces")
    workspace_id = monitoring.accessor_path(insights.get("properties.WorkspaceResourceId"))
    assert workspace_id == f"{workspace.symbol}.id"
    assert workspace.get("properties.features.disableLocalAuth") is True


def test_static_web_app_is_on_the_free_plan(module_of):
    static_site = module_of("web").resource("Microsoft.Web/staticSites")
    assert static_site.get("sku") == {"name": "Free", "tier": "Free"}


# --- Diagnostic settings ---------------------------------------------------------------------

DIAGNOSTIC_SETTINGS = "Microsoft.Insights/diagnosticSettings"


def test_openai_search_and_function_app_logs_go_to_log_analytics(module_of, main):
    diagnostics = module_of("diagnostics")
    types = {r.symbol: r.type for r in diagnostics.resources(existing=True)}
    sent = {}
    for setting in diagnostics.resources(DIAGNOSTIC_SETTINGS):
        props = setting.get("properties")
        assert props["workspaceId"] == "logAnalyticsId"
        assert all(log["enabled"] is True for log in props["logs"])
        sent[types[setting.get("scope")]] = props["logs"]
    assert set(sent) == {
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.Search/searchServices",
        "Microsoft.Web/sites",
    }
    assert sent["Microsoft.Web/sites"] == [{"category": "FunctionAppLogs", "enabled": True}]
    params = main.modules["diagnostics"]["config"]["params"]
    assert main.accessor_path(params["logAnalyticsId"]) == "monitoring.outputs.logAnalyticsId"
    assert main.accessor_path(params["functionAppName"]) == "api.outputs.name"
