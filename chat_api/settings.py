"""All configuration, read once from the environment into one typed object.

Every name the app reads is here and nowhere else; the README and `local.settings.sample.json`
list the same names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

ModelHostKind = Literal["azure", "openai", "offline"]
RetrievalKind = Literal["azure", "local", "off"]
SearchFailure = Literal["fail", "continue"]
LimitsStoreKind = Literal["memory", "table"]
ModelApi = Literal["responses", "chat"]
ReasoningEffort = Literal["", "none", "minimal", "low", "medium", "high"]

# Reasoning models (they refuse temperature, top_p and max_tokens): the o-series and GPT-5,
# but not GPT-5's "chat" variants. A name may carry a provider prefix ("openai/gpt-5").
# CHAT_REASONING_MODEL=true or false overrides the guess, e.g. for a deployment named "chat".
_REASONING_NAME = re.compile(r"(?:^|/)(?:o[1-9]|gpt-5(?!.*-chat))", re.IGNORECASE)


def is_reasoning_model(name: str) -> bool:
    return bool(_REASONING_NAME.search(name))


# Settings whose values are credentials: never shown by repr, str or a log line.
SECRET_NAME = re.compile(r"(_key|secret|password|token|connection_string)$")
# A user name and password written into an address (https://user:pass@host).
_USERINFO = re.compile(r"://[^/@\s]+@")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A configuration value is missing or malformed; raised at start-up, never per request."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Request limits: anything larger is refused with 413 before it reaches a model."""

    max_body_bytes: int = 256 * 1024
    max_messages: int = 100
    max_message_chars: int = 32_000
    # History is trimmed, oldest turns first, to fit this estimated prompt size.
    max_history_tokens: int = 12_000


@dataclass(frozen=True, slots=True)
class Settings:
    streaming: bool = True
    model_host: ModelHostKind = "offline"
    retrieval: RetrievalKind = "local"

    azure_openai_endpoint: str = ""
    # "chat" is the deployment name infra/main.bicep creates; AZURE_OPENAI_CHAT_MODEL names the
    # model behind it (gpt-5.4-mini, ...), so the app knows its family.
    azure_openai_chat_deployment: str = "chat"
    azure_openai_chat_model: str = ""
    azure_openai_embedding_deployment: str = "text-embedding-3-small"
    azure_openai_api_key: str = ""
    azure_client_id: str = ""

    openai_api_key: str = ""
    openai_base_url: str = ""
    openai_chat_model: str = "gpt-5.4-mini"
    openai_embedding_model: str = "text-embedding-3-small"

    azure_search_endpoint: str = ""
    azure_search_index: str = "knowledge-base"
    azure_search_api_key: str = ""
    # The semantic ranker reorders hybrid results; the index needs a semantic configuration
    # (`make ingest` creates one with this name) and a tier that has the ranker (Basic and up).
    azure_search_semantic_ranker: bool = False
    azure_search_semantic_configuration: str = "default"

    # Retrieval: passages per answer (a request may override it), how long one search may take,
    # and what a failed search does: `fail` (503 search_unavailable) or `continue` (answer
    # without sources, saying so in a progress step).
    retrieval_top: int = 3
    search_timeout_seconds: float = 10.0
    search_failure: SearchFailure = "fail"
    # A local index file written by `make ingest`; empty: built in memory from the folder.
    local_index: str = ""

    allowed_origins: tuple[str, ...] = ()
    limits: Limits = Limits()
    # Limits for a public endpoint (0 turns one off): requests per minute and model tokens per
    # UTC day for each client, model tokens per UTC day for the whole app, answers in flight in
    # one process (matches the Flex per-instance HTTP concurrency), and a deadline per answer
    # (well under the 230 s after which Azure's front end cuts a request).
    client_requests_per_minute: int = 10
    client_tokens_per_day: int = 200_000
    daily_token_budget: int = 5_000_000
    max_concurrent_answers: int = 200
    answer_timeout_seconds: float = 120.0
    # Where the limits' counters live: this process, or an Azure Storage table every instance
    # shares (keyless by endpoint, or a connection string for Azurite).
    limits_store: LimitsStoreKind = "memory"
    azure_storage_table_endpoint: str = ""
    azure_storage_table_connection_string: str = ""
    limits_table: str = "chatlimits"
    # The header the platform's front end sets to the client's address ("" = the peer address).
    client_address_header: str = ""
    # Upstream calls: total time allowed for retries before the client is told, and the
    # per-request timeout (connect and between bytes) of a model call.
    model_retry_seconds: float = 10.0
    model_timeout_seconds: float = 60.0
    temperature: float | None = None
    knowledge_base_dir: str = ""
    # How long a streamed answer may wait before its status line is sent. A failure within it (a
    # bad key, a model that refuses at once) still gets its own HTTP status; after it the response
    # has begun, and a failure is the stream's last line. The default puts the first step on the
    # wire within 250 ms of the request being read, whatever the model and search are doing.
    opening_window_seconds: float = 0.2
    # A streamed answer silent this long (a reasoning model thinking) carries a keep-alive line,
    # well inside the idle cut of proxies and Azure's front end (230 s); 0: never.
    keepalive_seconds: float = 10.0

    # The model API: the Responses API (Azure OpenAI, OpenAI) or Chat Completions (the
    # OpenAI-compatible servers that lack /responses: Ollama, llama.cpp, vLLM, ...).
    model_api: ModelApi = "responses"
    # Every answer's length cap, in tokens (a reasoning model's thinking counts against it).
    max_output_tokens: int = 1024
    # Reasoning models: no temperature/top_p/max_tokens is ever sent to one; the effort is
    # sent when set; their thinking is asked for as summaries and streamed as progress steps.
    reasoning_model: bool = False
    reasoning_effort: ReasoningEffort = ""
    reasoning_summary: bool = True

    # Telemetry (docs/observability.md): on when a destination is set, else off and not even
    # imported. The standard OTEL_* variables (headers, service name, sampling, batching) are read
    # by the OpenTelemetry SDK itself; OTEL_SDK_DISABLED=true turns it all off.
    applicationinsights_connection_string: str = ""
    # `Authorization=AAD` (with `ClientId=` for a user-assigned identity): ingestion by Entra ID.
    applicationinsights_authentication: str = ""
    otlp_endpoint: str = ""
    telemetry_service_name: str = "chat-api"
    # Record prompt, question, search query and answer text in traces: off, they may be personal.
    trace_content: bool = False

    def __repr__(self) -> str:
        """Every setting, with each credential shown only as set or not: the object may be
        printed or logged."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if SECRET_NAME.search(item.name):
                shown.append(f"{item.name}={'<set>' if value else '<not set>'}")
            elif isinstance(value, str):
                shown.append(f"{item.name}={_USERINFO.sub('://***@', value)!r}")
            else:
                shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    @property
    def telemetry_enabled(self) -> bool:
        return bool(self.applicationinsights_connection_string or self.otlp_endpoint)

    @property
    def embedding_model(self) -> str:
        if self.model_host == "azure":
            return self.azure_openai_embedding_deployment
        if self.model_host == "openai":
            return self.openai_embedding_model
        return ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        get = _Reader(env)
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
        defaults = cls()
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
        return cls(
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
            openai_embedding_model=get.text(
                "OPENAI_EMBEDDING_MODEL", defaults.openai_embedding_model
            ),
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
            # App Service's front end (Flex Consumption included) sets WEBSITE_INSTANCE_ID
            # and the client-ip header; elsewhere the connection's peer is the client.
            client_address_header=get.text(
                "CHAT_CLIENT_ADDRESS_HEADER", "client-ip" if env.get("WEBSITE_INSTANCE_ID") else ""
            ).lower(),
            model_retry_seconds=get.number(
                "CHAT_MODEL_RETRY_SECONDS", defaults.model_retry_seconds
            ),
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


def _telemetry_settings(get: _Reader) -> dict[str, Any]:
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


class _Reader:
    """Typed access to environment values, with errors that name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str = "") -> str:
        value = self._env.get(name, "").strip()
        return value or default

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}")
        return value

    def optional_choice(self, name: str, allowed: tuple[str, ...]) -> str:
        """One of `allowed`, or "" when unset."""
        value = self.text(name).lower()
        if value and value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, or unset")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name).lower()
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false")

    def integer(self, name: str, default: int) -> int:
        number = self.count(name, default)
        if number == 0:
            raise SettingsError(f"{name} must be positive")
        return number

    def count(self, name: str, default: int) -> int:
        """A whole number, 0 or more (0 means "off" where a setting allows it)."""
        value = self.text(name)
        try:
            number = int(value) if value else default
        except ValueError:
            raise SettingsError(f"{name} must be a whole number") from None
        if number < 0:
            raise SettingsError(f"{name} must not be negative")
        return number

    def number(self, name: str, default: float) -> float:
        found = self.optional_number(name)
        return default if found is None else found

    def optional_number(self, name: str) -> float | None:
        value = self.text(name)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name} must be a number") from None
        if number < 0:
            raise SettingsError(f"{name} must not be negative")
        return number
