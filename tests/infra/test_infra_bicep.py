"""The Bicep templates, read with pycep-parser: the properties the deployment promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pycep import BicepParser

INFRA = Path(__file__).resolve().parents[2] / "infra"

pytestmark = pytest.mark.infra

SITE = "Microsoft.Web/sites"
PLAN = "Microsoft.Web/serverfarms"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role definition ids.
OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
SEARCH_INDEX_DATA_READER = "1407120a-92aa-4202-b7e9-c0e197c71c8f"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
SEARCH_INDEX_DATA_CONTRIBUTOR = "8ebe5a00-799e-43f5-93ac-243d3dce84a7"
SEARCH_SERVICE_CONTRIBUTOR = "7ca78c08-252a-4471-8644-bb5ff32d4ba0"

# Contract section 3: the settings the app reads, all set by the deployment.
CONTRACT_SETTINGS = {
    "CHAT_STREAMING",
    "OPENAI_HOST",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_DEPLOYMENT",
    "AZURE_OPENAI_CHAT_MODEL",
    "AZURE_OPENAI_EMBEDDING_DEPLOYMENT",
    "AZURE_CLIENT_ID",
    "AZURE_SEARCH_ENDPOINT",
    "AZURE_SEARCH_INDEX",
    "CHAT_RETRIEVAL",
    "ALLOWED_ORIGINS",
}


@pytest.fixture(scope="module")
def api(module_of):
    return module_of("api")


@pytest.fixture(scope="module")
def site(api):
    return api.resource(SITE)


def settings(value):
    """App settings as {name: value} from a list of {name, value} objects."""
    assert isinstance(value, list), f"not a list of settings: {value!r}"
    pairs = {}
    for item in value:
        assert set(item) == {"name", "value"}, item
        assert item["name"] not in pairs, f"{item['name']} is set twice"
        pairs[item["name"]] = item["value"]
    return pairs


# --- Every file ------------------------------------------------------------------------------


def test_bicep_file_parses(bicep_path):
    parsed = BicepParser().parse(file_path=bicep_path)
    assert parsed, f"{bicep_path} did not parse"
    assert parsed.get("resources") or parsed.get("modules"), f"{bicep_path} declares nothing"


def test_main_is_subscription_scoped_and_creates_the_resource_group(main):
    assert main.scope == "subscription"
    groups = main.resources("Microsoft.Resources/resourceGroups")
    assert len(groups) == 1
    assert all(module["config"]["scope"] == groups[0].symbol for module in main.modules.values())


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
        assert "@secure" not in template.text, f"{template.name} takes a secret parameter"
        assert "connectionstrings" not in template.text.lower()


# --- Flex Consumption plan and function app --------------------------------------------------


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
    assert api.default("pythonVersion") == "3.12"
    assert set(api.decorator("pythonVersion", "allowed")) <= {"3.12", "3.13"}

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


def test_python_init_indexing_is_on_for_python_3_12(api):
    branches = api.conditional(api.variables["indexingSettings"])
    assert branches["condition"]["operator"]["operands"] == {
        "operand_1": "pythonVersion",
        "operand_2": "3.12",
    }
    assert settings(branches["true_value"]) == {"PYTHON_ENABLE_INIT_INDEXING": "1"}
    assert branches["false_value"] == []


def test_app_settings_cover_contract_section_3(main):
    core = settings(main.variables["coreSettings"])
    search = main.conditional(main.variables["searchSettings"])
    assert search["condition"] == "useAzureSearch"
    assert search["false_value"] == []
    search_settings = settings(search["true_value"])
    # Plus the semantic ranker, on wherever the search tier has it.
    assert set(core) | set(search_settings) == CONTRACT_SETTINGS | {"AZURE_SEARCH_SEMANTIC_RANKER"}
    ranker = main.conditional(search_settings["AZURE_SEARCH_SEMANTIC_RANKER"])
    assert ranker["true_value"] == "false"
    assert ranker["false_value"] == "true"
    assert "searchSkuName" in str(ranker["condition"])
    assert "free" in str(ranker["condition"])
    assert not set(core) & set(search_settings)

    assert core["OPENAI_HOST"] == "azure"
    assert main.accessor_path(core["AZURE_CLIENT_ID"]) == "identity.outputs.clientId"
    assert main.accessor_path(core["AZURE_OPENAI_ENDPOINT"]) == "openAi.outputs.endpoint"
    assert core["CHAT_RETRIEVAL"] == "chatRetrieval"
    assert core["AZURE_OPENAI_CHAT_MODEL"] == "chatModelName"
    assert main.accessor_path(search_settings["AZURE_SEARCH_ENDPOINT"]) == "search.outputs.endpoint"

    passed = main.call(main.modules["api"]["config"]["params"]["appSettings"], "concat")
    assert list(passed.values()) == ["coreSettings", "searchSettings"]

    for name in set(core) | set(search_settings):
        assert not re.search(r"KEY|SECRET|PASSWORD|CONNECTION_STRING", name), name


def test_chat_streaming_is_a_parameter_defaulting_to_true(main):
    assert main.parameters["chatStreaming"]["type"] == "bool"
    assert main.default("chatStreaming") is True
    value = main.conditional(settings(main.variables["coreSettings"])["CHAT_STREAMING"])
    assert value == {"condition": "chatStreaming", "true_value": "true", "false_value": "false"}

    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    assert parameters["parameters"]["chatStreaming"]["value"] == "${CHAT_STREAMING=true}"


def test_cors_allows_only_the_static_web_app_and_extra_origins(main, module_of, site):
    cors = site.get("properties.siteConfig.cors")
    assert cors == {"allowedOrigins": "allowedOrigins", "supportCredentials": False}

    params = main.modules["api"]["config"]["params"]
    assert params["allowedOrigins"] == "allowedOrigins"
    origins = main.call(main.variables["allowedOrigins"], "concat")
    first, extra = origins["arg_1"], origins["arg_2"]
    assert [main.accessor_path(item) for item in first] == ["web.outputs.url"]
    assert extra == "extraOrigins"
    assert main.default("extraAllowedOrigins") == ""
    assert "*" not in json.dumps(main.variables["allowedOrigins"])

    web = module_of("web")
    static_site = web.resource("Microsoft.Web/staticSites")
    assert (
        web.outputs["url"]["value"]
        == f"https://${{{static_site.symbol}.properties.defaultHostname}}"
    )

    # The app's own allow-list (for hosts other than Azure Functions) is the same list.
    allowed = main.call(settings(main.variables["coreSettings"])["ALLOWED_ORIGINS"], "join")
    assert list(allowed.values()) == ["allowedOrigins", ","]


def test_service_tags_for_azd(main):
    for symbol, service in (("api", "api"), ("web", "web")):
        tags = main.call(main.modules[symbol]["config"]["params"]["tags"], "union")
        assert tags["arg_2"] == {"'azd-service-name'": service}


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


# --- Azure OpenAI and Azure AI Search --------------------------------------------------------


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
    """Models retire; the preprovision hook chooses one the region offers at provision time."""
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    for name, variable in (
        ("chatModelName", "AZURE_OPENAI_CHAT_MODEL"),
        ("embeddingModelName", "AZURE_OPENAI_EMBEDDING_MODEL"),
    ):
        assert main.default(name) is None, f"{name} has a hard-coded default"
        assert main.decorator(name, "min_length") == 1
        assert parameters["parameters"][name]["value"] == f"${{{variable}}}", name
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
    if "identity" in service.body:
        # Only acceptable when the identity is left out on the Free tier.
        identity = search.conditional(service.get("identity"))
        assert "free" in json.dumps(identity["condition"])
    tiers = set(main.decorator("searchSkuName", "allowed"))
    assert "free" in tiers
    assert tiers == set(search.decorator("skuName", "allowed"))


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


# --- Role assignments ------------------------------------------------------------------------


def _loop_scope(template, assignment):
    """For `[for (x, i) in list: {scope: things[i]}]`: `things`, when it loops over the same
    list, so each assignment is scoped to one of them."""
    scope = assignment.get("scope")
    if assignment.loop is None or not isinstance(scope, dict):
        return None
    operands = scope["operator"]["operands"]
    assert scope["operator"]["type"] == "index_accessor"
    assert operands["operand_2"] == assignment.loop["detail"]["index_name"]
    (target,) = [r for r in template.resources(existing=True) if r.symbol == operands["operand_1"]]
    assert target.loop["detail"]["array_name"] == assignment.loop["detail"]["array_name"]
    return target.symbol


def role_grants(template):
    """(principal, role definition id, scope symbol) for every role assignment."""
    grants = set()
    for assignment in template.resources(ROLE_ASSIGNMENT):
        props = assignment.get("properties")
        role = template.call(props["roleDefinitionId"], "subscription_resource_id")
        assert role["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_id = template.resolve(role["resource_name_1"])
        assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", role_id), role_id
        # Deterministic, unique names: guid(scope, principal, role).
        name = template.call(assignment.get("name"), "guid")
        assert props["principalId"] in name.values()
        scope = _loop_scope(template, assignment) or assignment.get("scope")
        assert scope in {r.symbol for r in template.resources(existing=True)}, (
            f"{assignment.symbol} is not scoped to one resource"
        )
        grants.add((props["principalId"], props["principalType"], role_id, scope))
    return grants


def test_app_identity_roles_are_least_privilege(module_of, main):
    roles = module_of("roles")
    types = {r.symbol: r.type for r in roles.resources(existing=True)}
    app = {
        (role, types[scope])
        for principal, kind, role, scope in role_grants(roles)
        if principal == "appPrincipalId" and kind == "ServicePrincipal"
    }
    # Storage rights on containers only, never on the whole account.
    assert app == {
        (STORAGE_BLOB_DATA_CONTRIBUTOR, CONTAINER),
        (STORAGE_BLOB_DATA_OWNER, CONTAINER),
        (MONITORING_METRICS_PUBLISHER, "Microsoft.Insights/components"),
        (OPENAI_USER, "Microsoft.CognitiveServices/accounts"),
        (SEARCH_INDEX_DATA_READER, "Microsoft.Search/searchServices"),
    }
    params = main.modules["roles"]["config"]["params"]
    assert main.accessor_path(params["appPrincipalId"]) == "identity.outputs.principalId"


def test_deploying_user_gets_what_ingestion_needs(module_of, main):
    roles = module_of("roles")
    user = {
        role
        for principal, kind, role, _scope in role_grants(roles)
        if principal == "userPrincipalId" and kind == "userPrincipalType"
    }
    assert user == {OPENAI_USER, SEARCH_INDEX_DATA_CONTRIBUTOR, SEARCH_SERVICE_CONTRIBUTOR}
    params = main.modules["roles"]["config"]["params"]
    assert params["userPrincipalId"] == "principalId"
    assert params["userPrincipalType"] == "principalType"
    assert main.default("principalId") == ""


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
