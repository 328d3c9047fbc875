"""How the environment's variables become the `Settings`: each one read, typed and checked; the
defaults that depend on which others are set (the model host, the API style, retrieval, the
limits' store, whether the model is a reasoning one); and the combinations refused at start-up.

Every name the app reads is here and nowhere else; docs/configuration.md and
`local.settings.sample.json` list the same names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from chat_api.environment_reader import EnvironmentReader
from chat_api.settings import Limits, Settings, SettingsError

# Reasoning models (they refuse temperature, top_p and max_tokens): the o-series and GPT-5,
# but not GPT-5's "chat" variants. A name may carry a provider prefix ("openai/gpt-5").
# CHAT_REASONING_MODEL=true or false overrides the guess, e.g. for a deployment named "chat".
_REASONING_NAME = re.compile(r"(?:^|/)(?:o[1-9]|gpt-5(?!.*-chat))", re.IGNORECASE)


def is_reasoning_model(name: str) -> bool:
    return bool(_REASONING_NAME.search(name))


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    get = EnvironmentReader(env)
    model_host = get.choice("OPENAI_HOST", ("azure", "openai", "offline"), _default_host(env))
    retrieval = get.choice("CHAT_RETRIEVAL", ("auto", "azure", "local", "off"), "auto")
    if retrieval == "auto":
        if env.get("AZURE_SEARCH_ENDPOINT"):
            retrieval = "azure"
        else:
            retrieval = "local" if model_host == "offline" else "off"
    if model_host == "azure" and not env.get("AZURE_OPENAI_ENDPOINT"):
        raise SettingsError("OPENAI_HOST=azure needs AZURE_OPENAI_ENDPOINT")
    if retrieval == "azure" and not env.get("AZURE_SEARCH_ENDPOINT"):
        raise SettingsError("CHAT_RETRIEVAL=azure needs AZURE_SEARCH_ENDPOINT")
    table_endpoint = get.text("AZURE_STORAGE_TABLE_ENDPOINT").rstrip("/")
    table_connection = get.text("AZURE_STORAGE_TABLE_CONNECTION_STRING")
    limits_store = get.choice(
        "CHAT_LIMITS_STORE",
        ("memory", "table"),
        "table" if table_endpoint or table_connection else "memory",
    )
    if limits_store == "table" and not (table_endpoint or table_connection):
        raise SettingsError(
            "CHAT_LIMITS_STORE=table needs AZURE_STORAGE_TABLE_ENDPOINT "
            "or AZURE_STORAGE_TABLE_CONNECTION_STRING"
        )
    defaults = Settings()
    front_door_id = get.text("CHAT_FRONT_DOOR_ID").lower()
    chat_model = _chat_model_name(env, model_host, defaults)
    effort = get.optional_choice(
        "CHAT_REASONING_EFFORT", ("none", "minimal", "low", "medium", "high")
    )
    reasoning = get.choice("CHAT_REASONING_MODEL", ("auto", "true", "false"), "auto")
    if reasoning == "auto":
        # A reasoning effort set for the model says what it is, whatever its name.
        reasoning_model = bool(effort) or is_reasoning_model(chat_model)
    else:
        reasoning_model = reasoning == "true"
    temperature = get.optional_number("CHAT_TEMPERATURE")
    if reasoning_model and temperature is not None:
        raise SettingsError(
            f"CHAT_TEMPERATURE cannot be used with a reasoning model ({chat_model}); "
            "unset it, or set CHAT_REASONING_MODEL=false if the model is not one"
        )
    return Settings(
        streaming=get.flag("CHAT_STREAMING", True),
        model_host=model_host,  # type: ignore[arg-type]
        retrieval=retrieval,  # type: ignore[arg-type]
        azure_openai_endpoint=get.text("AZURE_OPENAI_ENDPOINT").rstrip("/"),
        azure_openai_chat_deployment=get.text(
            "AZURE_OPENAI_CHAT_DEPLOYMENT", defaults.azure_openai_chat_deployment
        ),
        azure_openai_embedding_deployment=get.text(
            "AZURE_OPENAI_EMBEDDING_DEPLOYMENT", defaults.azure_openai_embedding_deployment
        ),
        azure_openai_chat_model=get.text("AZURE_OPENAI_CHAT_MODEL"),
        azure_openai_api_key=get.text("AZURE_OPENAI_API_KEY"),
        azure_client_id=get.text("AZURE_CLIENT_ID"),
        openai_api_key=get.text("OPENAI_API_KEY"),
        openai_base_url=get.text("OPENAI_BASE_URL").rstrip("/"),
        openai_chat_model=get.text("OPENAI_CHAT_MODEL", defaults.openai_chat_model),
        openai_embedding_model=get.text("OPENAI_EMBEDDING_MODEL", defaults.openai_embedding_model),
        azure_search_endpoint=get.text("AZURE_SEARCH_ENDPOINT").rstrip("/"),
        azure_search_index=get.text("AZURE_SEARCH_INDEX", defaults.azure_search_index),
        azure_search_api_key=get.text("AZURE_SEARCH_API_KEY"),
        azure_search_semantic_ranker=get.flag(
            "AZURE_SEARCH_SEMANTIC_RANKER", defaults.azure_search_semantic_ranker
        ),
        azure_search_semantic_configuration=get.text(
            "AZURE_SEARCH_SEMANTIC_CONFIGURATION", defaults.azure_search_semantic_configuration
        ),
        retrieval_top=get.integer("CHAT_RETRIEVAL_TOP", defaults.retrieval_top),
        search_timeout_seconds=get.number(
            "CHAT_SEARCH_TIMEOUT_SECONDS", defaults.search_timeout_seconds
        ),
        search_failure=get.choice(  # type: ignore[arg-type]
            "CHAT_SEARCH_FAILURE", ("fail", "continue"), defaults.search_failure
        ),
        local_index=get.text("CHAT_LOCAL_INDEX"),
        allowed_origins=tuple(
            o.strip() for o in get.text("ALLOWED_ORIGINS").split(",") if o.strip()
        ),
        limits=Limits(
            max_body_bytes=get.integer("CHAT_MAX_BODY_BYTES", defaults.limits.max_body_bytes),
            max_messages=get.integer("CHAT_MAX_MESSAGES", defaults.limits.max_messages),
            max_message_chars=get.integer(
                "CHAT_MAX_MESSAGE_CHARS", defaults.limits.max_message_chars
            ),
            max_history_tokens=get.integer(
                "CHAT_MAX_HISTORY_TOKENS", defaults.limits.max_history_tokens
            ),
        ),
        client_requests_per_minute=get.count(
            "CHAT_CLIENT_REQUESTS_PER_MINUTE", defaults.client_requests_per_minute
        ),
        client_tokens_per_day=get.count(
            "CHAT_CLIENT_TOKENS_PER_DAY", defaults.client_tokens_per_day
        ),
        daily_token_budget=get.count("CHAT_DAILY_TOKEN_BUDGET", defaults.daily_token_budget),
        max_concurrent_answers=get.count(
            "CHAT_MAX_CONCURRENT_ANSWERS", defaults.max_concurrent_answers
        ),
        answer_timeout_seconds=get.number(
            "CHAT_ANSWER_TIMEOUT_SECONDS", defaults.answer_timeout_seconds
        ),
        limits_store=limits_store,  # type: ignore[arg-type]
        azure_storage_table_endpoint=table_endpoint,
        azure_storage_table_connection_string=table_connection,
        limits_table=get.text("CHAT_LIMITS_TABLE", defaults.limits_table),
        client_address_header=get.text(
            "CHAT_CLIENT_ADDRESS_HEADER", _address_header(env, front_door_id)
        ).lower(),
        network_requests_per_minute=get.count(
            "CHAT_NETWORK_REQUESTS_PER_MINUTE", defaults.network_requests_per_minute
        ),
        network_tokens_per_day=get.count(
            "CHAT_NETWORK_TOKENS_PER_DAY", defaults.network_tokens_per_day
        ),
        network_budget_share=_share(
            get.number("CHAT_NETWORK_BUDGET_SHARE", defaults.network_budget_share)
        ),
        limits_key_secret=get.text("CHAT_LIMITS_KEY_SECRET"),
        front_door_id=front_door_id,
        in_azure=bool(env.get("WEBSITE_INSTANCE_ID")),
        model_retry_seconds=get.number("CHAT_MODEL_RETRY_SECONDS", defaults.model_retry_seconds),
        model_timeout_seconds=get.number(
            "CHAT_MODEL_TIMEOUT_SECONDS", defaults.model_timeout_seconds
        ),
        temperature=temperature,
        knowledge_base_dir=get.text("CHAT_KNOWLEDGE_BASE_DIR"),
        opening_window_seconds=get.number(
            "CHAT_OPENING_WINDOW_SECONDS", defaults.opening_window_seconds
        ),
        keepalive_seconds=get.number("CHAT_KEEPALIVE_SECONDS", defaults.keepalive_seconds),
        model_api=get.choice(  # type: ignore[arg-type]
            "OPENAI_API_STYLE", ("responses", "chat"), _default_api(env, model_host)
        ),
        max_output_tokens=get.integer("CHAT_MAX_OUTPUT_TOKENS", defaults.max_output_tokens),
        reasoning_model=reasoning_model,
        reasoning_effort=effort,  # type: ignore[arg-type]
        reasoning_summary=get.flag("CHAT_REASONING_SUMMARY", defaults.reasoning_summary),
        **_telemetry_settings(get),
    )


def _telemetry_settings(get: EnvironmentReader) -> dict[str, Any]:
    if get.flag("OTEL_SDK_DISABLED", False):
        return {}
    return {
        "applicationinsights_connection_string": get.text("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        "applicationinsights_authentication": get.text("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"),
        "otlp_endpoint": get.text("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "telemetry_service_name": get.text("OTEL_SERVICE_NAME", "chat-api"),
        "trace_content": get.flag("CHAT_TRACE_CONTENT", False),
    }


def _default_host(env: Mapping[str, str]) -> str:
    if env.get("AZURE_OPENAI_ENDPOINT"):
        return "azure"
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return "openai"
    return "offline"


def _default_api(env: Mapping[str, str], model_host: str) -> str:
    """Responses for Azure OpenAI and OpenAI; Chat Completions for any other server, which
    may well lack /responses."""
    if model_host == "openai" and env.get("OPENAI_BASE_URL", "").strip():
        return "chat"
    return "responses"


def _chat_model_name(env: Mapping[str, str], model_host: str, defaults: Settings) -> str:
    """The chat model's own name; on Azure the model behind the deployment, when known."""
    if model_host == "azure":
        return (
            env.get("AZURE_OPENAI_CHAT_MODEL", "").strip()
            or env.get("AZURE_OPENAI_CHAT_DEPLOYMENT", "").strip()
            or defaults.azure_openai_chat_deployment
        )
    if model_host == "openai":
        return env.get("OPENAI_CHAT_MODEL", "").strip() or defaults.openai_chat_model
    return ""


def _address_header(env: Mapping[str, str], front_door_id: str) -> str:
    """Behind Azure Front Door, the address of the connection it accepted (a caller cannot set
    it); in App Service (Flex Consumption included, which sets WEBSITE_INSTANCE_ID), its front
    end's client-ip; elsewhere none: the connection's peer is the client."""
    if front_door_id:
        return "x-azure-socketip"
    return "client-ip" if env.get("WEBSITE_INSTANCE_ID") else ""


def _share(value: float) -> float:
    if not 0 <= value <= 1:
        raise SettingsError("CHAT_NETWORK_BUDGET_SHARE must be between 0 and 1")
    return value
