"""The settings the deployment gives the app: every one contract section 3 names, none a secret,
streaming as a parameter, and CORS limited to the static web app and the extra origins."""

from __future__ import annotations

import json
import re

import pytest

from tests.infra.conftest import INFRA, settings

pytestmark = pytest.mark.infra

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
    "CHAT_KEEP_QUESTIONS",
    "ALLOWED_ORIGINS",
}


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
    assert list(passed.values()) == ["coreSettings", "searchSettings", "limitSettings"]
    limit_settings = settings(main.variables["limitSettings"])
    assert not set(limit_settings) & (set(core) | set(search_settings))

    # No credential: the app signs in with its identity. The one secret is the key the limits
    # hash addresses with, generated at provisioning, which opens nothing.
    hashing_key = {"CHAT_LIMITS_KEY_SECRET"}
    for name in set(core) | set(search_settings) | set(limit_settings) - hashing_key:
        assert not re.search(r"KEY|SECRET|PASSWORD|CONNECTION_STRING", name), name


def test_question_texts_are_kept_only_when_the_environment_says_so(main):
    core = settings(main.variables["coreSettings"])
    parameters = json.loads((INFRA / "main.parameters.json").read_text("utf-8"))["parameters"]

    assert main.default("keepQuestions") is False
    assert parameters["keepQuestions"]["value"] == "${CHAT_KEEP_QUESTIONS=false}"
    assert main.conditional(core["CHAT_KEEP_QUESTIONS"]) == {
        "condition": "keepQuestions",
        "true_value": "true",
        "false_value": "false",
    }


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
