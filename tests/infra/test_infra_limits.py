"""The limits of the public endpoint and the budget in the Bicep templates: the app's defaults as
parameters, the counters in the storage table, a budget alert when an email is given."""

from __future__ import annotations

import json
import re

import pytest

from tests.infra.conftest import INFRA, settings

pytestmark = pytest.mark.infra

# --- Limits for the public endpoint ------------------------------------------------------------

LIMIT_PARAMETERS = {
    "clientRequestsPerMinute": ("CHAT_CLIENT_REQUESTS_PER_MINUTE", 10),
    "clientTokensPerDay": ("CHAT_CLIENT_TOKENS_PER_DAY", 200_000),
    "dailyTokenBudget": ("CHAT_DAILY_TOKEN_BUDGET", 5_000_000),
    "answerTimeoutSeconds": ("CHAT_ANSWER_TIMEOUT_SECONDS", 120),
    "networkRequestsPerMinute": ("CHAT_NETWORK_REQUESTS_PER_MINUTE", 60),
    "networkTokensPerDay": ("CHAT_NETWORK_TOKENS_PER_DAY", 1_000_000),
}


def test_limits_are_parameters_with_the_app_defaults_passed_as_settings(main):
    from chat_api.settings import Settings

    app = Settings()
    limit_settings = settings(main.variables["limitSettings"])
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    for parameter, (setting, default) in LIMIT_PARAMETERS.items():
        assert main.default(parameter) == default
        assert main.call(limit_settings[setting], "string") == {"value_to_convert": parameter}
        assert parameters["parameters"][parameter]["value"] == f"${{{setting}={default}}}"
    assert app.client_requests_per_minute == main.default("clientRequestsPerMinute")
    assert app.client_tokens_per_day == main.default("clientTokensPerDay")
    assert app.daily_token_budget == main.default("dailyTokenBudget")
    assert app.answer_timeout_seconds == main.default("answerTimeoutSeconds")
    assert app.network_requests_per_minute == main.default("networkRequestsPerMinute")
    assert app.network_tokens_per_day == main.default("networkTokensPerDay")
    assert float(main.default("networkBudgetShare")) == app.network_budget_share
    assert limit_settings["CHAT_NETWORK_BUDGET_SHARE"] == "networkBudgetShare"
    assert main.decorator("answerTimeoutSeconds", "max_value") < 230  # Azure's front-end cut


def test_the_in_flight_cap_matches_the_per_instance_concurrency(main):
    limit_settings = settings(main.variables["limitSettings"])

    cap = main.call(limit_settings["CHAT_MAX_CONCURRENT_ANSWERS"], "string")
    assert cap == {"value_to_convert": "httpPerInstanceConcurrency"}
    from chat_api.settings import Settings

    assert Settings().max_concurrent_answers == main.default("httpPerInstanceConcurrency")


def test_limits_are_counted_in_the_storage_table_keyless_behind_the_front_end(main, module_of):
    limit_settings = settings(main.variables["limitSettings"])
    assert limit_settings["CHAT_LIMITS_STORE"] == "table"
    endpoint = main.accessor_path(limit_settings["AZURE_STORAGE_TABLE_ENDPOINT"])
    assert endpoint == "storage.outputs.tableEndpoint"
    assert "AZURE_STORAGE_TABLE_CONNECTION_STRING" not in limit_settings
    storage = module_of("storage")
    table = storage.resource("Microsoft.Storage/storageAccounts/tableServices/tables")
    assert table.get("name") == "limitsTableName"
    roles_params = main.modules["roles"]["config"]["params"]
    assert main.accessor_path(roles_params["limitsTableName"]) == "storage.outputs.limitsTableName"


# --- The budget ------------------------------------------------------------------------------


def test_the_budget_alert_is_skipped_without_an_email(main, module_of):
    module = main.modules["budget"]["config"]
    assert set(module) == {"condition", "config"}
    assert "budgetAlertEmail" in str(module["condition"])
    assert main.default("budgetAlertEmail") == ""
    params = module["config"]["params"]
    assert params["amount"] == "budgetAmount"
    assert params["contactEmails"] == ["budgetAlertEmail"]
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    assert parameters["parameters"]["budgetAlertEmail"]["value"] == "${AZURE_BUDGET_ALERT_EMAIL=}"
    assert parameters["parameters"]["budgetAmount"]["value"] == "${AZURE_BUDGET_AMOUNT=50}"


def test_the_budget_alerts_on_actual_and_forecast_spending(module_of):
    budget = module_of("budget").resource("Microsoft.Consumption/budgets")
    assert budget.get("properties.category") == "Cost"
    assert budget.get("properties.timeGrain") == "Monthly"
    notifications = budget.get("properties.notifications")
    kinds = {n["thresholdType"]: n["threshold"] for n in notifications.values()}
    assert kinds == {"Actual": 80, "Forecasted": 100}
    assert all(n["contactEmails"] == "contactEmails" for n in notifications.values())


# --- Limits that hold against a determined caller ----------------------------------------------


def test_the_row_key_secret_is_the_one_the_hook_keeps_and_no_default_made_at_deployment(main):
    limit_settings = settings(main.variables["limitSettings"])

    assert limit_settings["CHAT_LIMITS_KEY_SECRET"] == "limitsKeySecret"
    # A newGuid() default would be a new key on every provision, restarting clients' counts.
    assert main.default("limitsKeySecret") == ""
    assert re.search(r"@secure\(\)\n(?:@.*\n)*param limitsKeySecret ", main.text)


def test_the_functions_host_buffers_no_more_body_than_the_app_accepts(main):
    from chat_api.settings import Limits

    limit_settings = settings(main.variables["limitSettings"])

    limit = main.call(limit_settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"], "string")
    assert limit == {"value_to_convert": "maxBodyBytes"}
    assert main.variables["maxBodyBytes"] == Limits().max_body_bytes


def test_front_door_mode_lets_only_that_front_doors_traffic_reach_the_app(main, api, site):
    restrictions = api.conditional(site.get("properties.siteConfig.ipSecurityRestrictions"))
    assert "frontDoorId" in str(restrictions["condition"])
    (rule,) = api.resolve(restrictions["false_value"])
    assert (rule["action"], rule["tag"], rule["ipAddress"]) == (
        "Allow",
        "ServiceTag",
        "AzureFrontDoor.Backend",
    )
    assert rule["headers"]["'x-azure-fdid'"] == ["frontDoorId"]
    default = api.conditional(site.get("properties.siteConfig.ipSecurityRestrictionsDefaultAction"))
    assert (default["true_value"], default["false_value"]) == ("Allow", "Deny")
    assert main.modules["api"]["config"]["params"]["frontDoorId"] == "frontDoorId"
    limit_settings = settings(main.variables["limitSettings"])
    assert limit_settings["CHAT_FRONT_DOOR_ID"] == "frontDoorId"
    header = main.conditional(limit_settings["CHAT_CLIENT_ADDRESS_HEADER"])
    assert (header["true_value"], header["false_value"]) == ("client-ip", "x-azure-socketip")


def test_an_alert_rule_fires_on_the_apps_80_percent_budget_signal(main, module_of):
    from chat_api.telemetry.instruments import LIMITS_SIGNAL, LIMITS_SIGNALS

    alert = module_of("budgetUseAlert")
    rule = alert.resource("Microsoft.Insights/scheduledQueryRules")
    (criterion,) = rule.get("properties.criteria.allOf")
    query = alert.resolve(criterion["query"])
    assert LIMITS_SIGNALS in query
    assert LIMITS_SIGNAL in query
    assert "budget_80_percent" in query
    assert criterion["operator"] == "GreaterThan"
    params = main.modules["budgetUseAlert"]["config"]["params"]
    assert main.accessor_path(params["applicationInsightsId"]) == (
        "monitoring.outputs.applicationInsightsId"
    )
