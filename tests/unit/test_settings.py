from __future__ import annotations

import logging
import re

import pytest

from chat_api.settings import Settings, SettingsError

# What a credential's setting is called: its value must never be shown.
CREDENTIAL_NAME = re.compile(r"(_key|secret|password|token|connection_string)$")


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


def test_search_failures_fail_the_answer_unless_told_to_continue():
    assert Settings.from_env({}).search_failure == "fail"
    assert Settings.from_env({"CHAT_SEARCH_FAILURE": "continue"}).search_failure == "continue"


def test_search_options_have_defaults_and_can_be_set():
    default = Settings.from_env({})
    tuned = Settings.from_env(
        {
            "AZURE_SEARCH_SEMANTIC_RANKER": "true",
            "AZURE_SEARCH_SEMANTIC_CONFIGURATION": "my-config",
            "CHAT_RETRIEVAL_TOP": "5",
            "CHAT_SEARCH_TIMEOUT_SECONDS": "2.5",
        }
    )

    assert (default.azure_search_semantic_ranker, default.retrieval_top) == (False, 3)
    assert default.search_timeout_seconds == 10
    assert tuned.azure_search_semantic_ranker is True
    assert tuned.azure_search_semantic_configuration == "my-config"
    assert (tuned.retrieval_top, tuned.search_timeout_seconds) == (5, 2.5)


def test_the_embedding_model_follows_the_host():
    azure = Settings.from_env(
        {"AZURE_OPENAI_ENDPOINT": "https://x", "AZURE_OPENAI_EMBEDDING_DEPLOYMENT": "emb"}
    )
    openai = Settings.from_env({"OPENAI_API_KEY": "k", "OPENAI_EMBEDDING_MODEL": "e3"})

    assert (azure.embedding_model, openai.embedding_model) == ("emb", "e3")
    assert Settings.from_env({}).embedding_model == ""


@pytest.mark.parametrize(
    "env",
    [
        {"AZURE_OPENAI_ENDPOINT": "https://x", "AZURE_OPENAI_EMBEDDING_DEPLOYMENT": "none"},
        {"OPENAI_API_KEY": "k", "OPENAI_EMBEDDING_MODEL": "None"},
    ],
)
def test_none_as_the_embedding_model_means_searches_by_text_alone(env):
    assert Settings.from_env(env).embedding_model == ""


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
        {"CHAT_SEARCH_FAILURE": "ignore"},
        {"AZURE_SEARCH_SEMANTIC_RANKER": "sometimes"},
        {"CHAT_RETRIEVAL_TOP": "0"},
        {"CHAT_NETWORK_BUDGET_SHARE": "1.5"},
        {"CHAT_NETWORK_REQUESTS_PER_MINUTE": "-1"},
    ],
)
def test_bad_values_fail_at_start_up_naming_the_variable(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)


# ---- The model API and reasoning models ---------------------------------------------------


def test_azure_and_openai_use_the_responses_api_by_default():
    azure = Settings.from_env({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"})
    openai = Settings.from_env({"OPENAI_API_KEY": "k"})

    assert (azure.model_api, openai.model_api) == ("responses", "responses")


def test_a_custom_base_url_uses_chat_completions_by_default():
    settings = Settings.from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1"})

    assert settings.model_api == "chat"


def test_the_api_style_can_be_chosen():
    env = {"OPENAI_BASE_URL": "http://localhost:8000/v1", "OPENAI_API_STYLE": "responses"}

    assert Settings.from_env(env).model_api == "responses"
    with pytest.raises(SettingsError, match="OPENAI_API_STYLE"):
        Settings.from_env({"OPENAI_API_STYLE": "completions"})


def test_the_defaults_are_a_current_model_and_the_deployment_infra_creates():
    settings = Settings.from_env({})

    assert settings.openai_chat_model == "gpt-5.4-mini"
    assert settings.azure_openai_chat_deployment == "chat"
    assert settings.max_output_tokens == 1024


def test_the_answer_length_cap_is_configurable_and_positive():
    assert Settings.from_env({"CHAT_MAX_OUTPUT_TOKENS": "300"}).max_output_tokens == 300
    with pytest.raises(SettingsError, match="CHAT_MAX_OUTPUT_TOKENS"):
        Settings.from_env({"CHAT_MAX_OUTPUT_TOKENS": "0"})


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("gpt-5.4-mini", True),
        ("gpt-5", True),
        ("GPT-5.5", True),
        ("o3", True),
        ("o4-mini", True),
        ("openai/gpt-5-mini", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4.1-mini", False),
        ("gpt-4o", False),
        ("llama3.1", False),
        ("qwen3:8b", False),
    ],
)
def test_reasoning_models_are_known_by_name(model, reasoning):
    settings = Settings.from_env({"OPENAI_API_KEY": "k", "OPENAI_CHAT_MODEL": model})

    assert settings.reasoning_model is reasoning


def test_an_azure_deployment_is_known_by_the_model_behind_it():
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
        "AZURE_OPENAI_CHAT_DEPLOYMENT": "chat",
    }

    assert Settings.from_env(env).reasoning_model is False
    assert Settings.from_env({**env, "AZURE_OPENAI_CHAT_MODEL": "gpt-5.4-mini"}).reasoning_model


def test_the_reasoning_guess_can_be_overridden_either_way():
    base = {"OPENAI_API_KEY": "k", "OPENAI_CHAT_MODEL": "my-fine-tune"}

    assert Settings.from_env({**base, "CHAT_REASONING_MODEL": "true"}).reasoning_model
    assert not Settings.from_env(
        {**base, "OPENAI_CHAT_MODEL": "o3", "CHAT_REASONING_MODEL": "false"}
    ).reasoning_model


def test_a_reasoning_effort_marks_the_model_as_a_reasoning_model():
    settings = Settings.from_env(
        {"OPENAI_API_KEY": "k", "OPENAI_CHAT_MODEL": "my-model", "CHAT_REASONING_EFFORT": "Low"}
    )

    assert (settings.reasoning_model, settings.reasoning_effort) == (True, "low")


def test_the_reasoning_effort_is_unset_by_default_and_checked():
    assert Settings.from_env({}).reasoning_effort == ""
    with pytest.raises(SettingsError, match="CHAT_REASONING_EFFORT"):
        Settings.from_env({"CHAT_REASONING_EFFORT": "extreme"})


def test_a_temperature_for_a_reasoning_model_is_refused_at_start_up():
    with pytest.raises(SettingsError, match="CHAT_TEMPERATURE"):
        Settings.from_env(
            {"OPENAI_API_KEY": "k", "OPENAI_CHAT_MODEL": "gpt-5.4", "CHAT_TEMPERATURE": "0.2"}
        )


SECRETS = {
    "AZURE_OPENAI_API_KEY": "azure-openai-key-value",
    "OPENAI_API_KEY": "openai-key-value",
    "AZURE_SEARCH_API_KEY": "search-key-value",
}


def _with_secrets() -> Settings:
    return Settings.from_env(
        {
            **SECRETS,
            "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
            "OPENAI_BASE_URL": "https://user:url-password@models.example.net/v1",
            "AZURE_SEARCH_ENDPOINT": "https://s.search.windows.net",
        }
    )


def test_printing_the_settings_never_shows_a_key(caplog):
    settings = _with_secrets()
    caplog.set_level(logging.INFO)
    logging.getLogger("test").info("settings %s / %r", settings, settings)

    for shown in (repr(settings), str(settings), f"{settings}", caplog.text):
        for value in (*SECRETS.values(), "url-password"):
            assert value not in shown
        assert "openai_api_key=<set>" in shown
        assert "azure_search_endpoint='https://s.search.windows.net'" in shown


def test_every_credential_field_is_one_the_settings_hide():
    secret_fields = {name for name in Settings.model_fields if CREDENTIAL_NAME.search(name)}

    assert {"azure_openai_api_key", "openai_api_key", "azure_search_api_key"} <= secret_fields
    shown = repr(_with_secrets())
    for name in secret_fields:
        assert f"{name}=<" in shown


def test_the_public_endpoint_limits_are_on_by_default():
    settings = Settings.from_env({})

    assert settings.client_requests_per_minute > 0
    assert settings.client_tokens_per_day > 0
    assert settings.daily_token_budget > settings.client_tokens_per_day
    assert settings.max_concurrent_answers > 0
    assert 0 < settings.answer_timeout_seconds < 230  # Azure's front end cuts at 230 s
    assert settings.limits_store == "memory"


def test_zero_turns_a_limit_off_and_a_negative_value_is_refused():
    assert Settings.from_env({"CHAT_DAILY_TOKEN_BUDGET": "0"}).daily_token_budget == 0
    with pytest.raises(SettingsError, match="CHAT_CLIENT_REQUESTS_PER_MINUTE"):
        Settings.from_env({"CHAT_CLIENT_REQUESTS_PER_MINUTE": "-1"})


def test_a_table_endpoint_selects_the_shared_table_store():
    settings = Settings.from_env(
        {"AZURE_STORAGE_TABLE_ENDPOINT": "https://st.table.core.windows.net/"}
    )

    assert settings.limits_store == "table"
    assert settings.azure_storage_table_endpoint == "https://st.table.core.windows.net"


def test_the_table_store_without_an_endpoint_is_a_configuration_error():
    with pytest.raises(SettingsError, match="AZURE_STORAGE_TABLE_ENDPOINT"):
        Settings.from_env({"CHAT_LIMITS_STORE": "table"})


def test_in_app_service_the_client_is_the_front_end_client_ip_header():
    assert Settings.from_env({"WEBSITE_INSTANCE_ID": "abc"}).client_address_header == "client-ip"
    assert Settings.from_env({}).client_address_header == ""


def test_behind_front_door_the_client_is_the_socket_address_it_reports():
    settings = Settings.from_env(
        {"CHAT_FRONT_DOOR_ID": "2F5C1A9E-0000", "WEBSITE_INSTANCE_ID": "a"}
    )

    assert settings.client_address_header == "x-azure-socketip"
    assert settings.front_door_id == "2f5c1a9e-0000"


def test_the_app_knows_it_runs_in_azure_only_from_app_services_variable():
    assert Settings.from_env({"WEBSITE_INSTANCE_ID": "abc"}).in_azure is True
    assert Settings.from_env({}).in_azure is False


def test_the_limits_key_is_a_secret_the_printed_settings_never_show():
    settings = Settings.from_env({"CHAT_LIMITS_KEY_SECRET": "0f" * 32})

    assert settings.limits_key_secret.get_secret_value() == "0f" * 32
    assert "0f0f" not in repr(settings)
