from __future__ import annotations

import pytest

from chat_api.settings import Settings, SettingsError


def test_no_configuration_is_offline_mode_with_the_local_index():
    settings = Settings.from_env({})

    assert (settings.model_host, settings.retrieval, settings.streaming) == (
        "offline",
        "local",
        True,
    )


def test_an_openai_base_url_selects_the_openai_host_without_retrieval():
    settings = Settings.from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1/"})

    assert settings.model_host == "openai"
    assert settings.openai_base_url == "http://localhost:11434/v1"
    assert settings.retrieval == "off"


def test_an_azure_endpoint_selects_the_azure_host():
    settings = Settings.from_env(
        {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/", "OPENAI_API_KEY": "k"}
    )

    assert settings.model_host == "azure"
    assert settings.azure_openai_endpoint == "https://x.openai.azure.com"


def test_an_azure_search_endpoint_selects_azure_retrieval_in_auto():
    settings = Settings.from_env({"AZURE_SEARCH_ENDPOINT": "https://s.search.windows.net"})

    assert settings.retrieval == "azure"


def test_retrieval_can_be_forced_on_with_a_model():
    settings = Settings.from_env({"OPENAI_API_KEY": "k", "CHAT_RETRIEVAL": "local"})

    assert settings.retrieval == "local"


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("TRUE", True)])
def test_chat_streaming_flag(value, expected):
    assert Settings.from_env({"CHAT_STREAMING": value}).streaming is expected


def test_limits_are_configurable():
    settings = Settings.from_env({"CHAT_MAX_BODY_BYTES": "1000", "CHAT_MAX_MESSAGES": "3"})

    assert (settings.limits.max_body_bytes, settings.limits.max_messages) == (1000, 3)


@pytest.mark.parametrize(
    "env",
    [
        {"CHAT_STREAMING": "maybe"},
        {"OPENAI_HOST": "bedrock"},
        {"OPENAI_HOST": "azure"},
        {"CHAT_RETRIEVAL": "azure"},
        {"CHAT_MAX_MESSAGES": "many"},
        {"CHAT_MAX_MESSAGES": "0"},
        {"CHAT_MODEL_RETRY_SECONDS": "-1"},
    ],
)
def test_bad_values_fail_at_start_up_naming_the_variable(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)
