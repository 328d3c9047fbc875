"""The limits of the public endpoint and the budget in the Bicep templates: the app's defaults as
parameters, the counters in the storage table, a budget alert when an email is given."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import INFRA, settings

pytestmark = pytest.mark.infra

# --- Limits for the public endpoint ------------------------------------------------------------

LIMIT_PARAMETERS = {
    "clientRequestsPerMinute": ("CHAT_CLIENT_REQUESTS_PER_MINUTE", 10),
    "clientTokensPerDay": ("CHAT_CLIENT_TOKENS_PER_DAY", 200_000),
    "dailyTokenBudget": ("CHAT_DAILY_TOKEN_BUDGET", 5_000_000),
    "answerTimeoutSeconds": ("CHAT_ANSWER_TIMEOUT_SECONDS", 120),
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
    assert limit_settings["CHAT_CLIENT_ADDRESS_HEADER"] == "client-ip"
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
