"""All configuration, read once from the environment into one typed object: each setting's
variable, type, choices and default declared once (pydantic-settings), the defaults that depend on
which other variables are set, the combinations refused at start-up, and a printed form that
never shows a credential.

`Settings.from_env` is the one way in. Every name the app reads is here and nowhere else;
docs/configuration.md and `local.settings.sample.json` list the same names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class SettingsError(ValueError):
    """A configuration value is missing or malformed; raised at start-up, never per request."""


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


# A choice is matched whatever its case; an address loses its trailing slash.
ModelHostKind = Annotated[Literal["azure", "openai", "offline"], BeforeValidator(_lower)]
RetrievalKind = Annotated[Literal["azure", "local", "off"], BeforeValidator(_lower)]
SearchFailure = Annotated[Literal["fail", "continue"], BeforeValidator(_lower)]
LimitsStoreKind = Annotated[Literal["memory", "table"], BeforeValidator(_lower)]
ModelApi = Literal["responses", "chat"]
ReasoningEffort = Literal["", "none", "minimal", "low", "medium", "high"]
NoSourceAnswer = Annotated[Literal["decline", "model"], BeforeValidator(_lower)]
Address = Annotated[str, AfterValidator(lambda value: value.rstrip("/"))]
Lowercase = Annotated[str, AfterValidator(str.lower)]
HeaderName = Lowercase
Share = Annotated[float, Field(ge=0, le=1)]
Origins = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]

# A user name and password written into an address (https://user:pass@host).
_USERINFO = re.compile(r"://[^/@\s]+@")
# Reasoning models (they refuse temperature, top_p and max_tokens): the o-series and GPT-5,
# but not GPT-5's "chat" variants. A name may carry a provider prefix ("openai/gpt-5").
_REASONING_NAME = re.compile(r"(?:^|/)(?:o[1-9]|gpt-5(?!.*-chat))", re.IGNORECASE)
# Set by Azure's front end, never by the user (it also chooses a default); the SDK's off switch.
_APP_SERVICE = "WEBSITE_INSTANCE_ID"
_TELEMETRY_OFF = "OTEL_SDK_DISABLED"
_TELEMETRY_VARIABLES = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "CHAT_TRACE_CONTENT",
)


NO_EMBEDDING_MODEL = "none"


def _variable(default: Any, name: str) -> Any:
    return Field(default, validation_alias=name)


class Limits(BaseModel):
    """Request limits: anything larger is refused with 413 before it reaches a model."""

    model_config = ConfigDict(frozen=True, validate_by_name=True)

    max_body_bytes: PositiveInt = _variable(256 * 1024, "CHAT_MAX_BODY_BYTES")
    max_messages: PositiveInt = _variable(100, "CHAT_MAX_MESSAGES")
    max_message_chars: PositiveInt = _variable(32_000, "CHAT_MAX_MESSAGE_CHARS")
    # History is trimmed, oldest turns first, to fit this estimated prompt size.
    max_history_tokens: PositiveInt = _variable(12_000, "CHAT_MAX_HISTORY_TOKENS")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True, validate_by_name=True, str_strip_whitespace=True, extra="forbid"
    )

    streaming: bool = _variable(True, "CHAT_STREAMING")
    model_host: ModelHostKind = _variable("offline", "OPENAI_HOST")
    retrieval: RetrievalKind = _variable("local", "CHAT_RETRIEVAL")

    azure_openai_endpoint: Address = _variable("", "AZURE_OPENAI_ENDPOINT")
    # "chat" is the deployment name infra/main.bicep creates; AZURE_OPENAI_CHAT_MODEL names the
    # model behind it (gpt-5.4-mini, ...), so the app knows its family.
    azure_openai_chat_deployment: str = _variable("chat", "AZURE_OPENAI_CHAT_DEPLOYMENT")
    azure_openai_chat_model: str = _variable("", "AZURE_OPENAI_CHAT_MODEL")
    azure_openai_embedding_deployment: str = _variable(
        "text-embedding-3-small", "AZURE_OPENAI_EMBEDDING_DEPLOYMENT"
    )
    azure_openai_api_key: SecretStr = _variable(SecretStr(""), "AZURE_OPENAI_API_KEY")
    azure_client_id: str = _variable("", "AZURE_CLIENT_ID")

    openai_api_key: SecretStr = _variable(SecretStr(""), "OPENAI_API_KEY")
    openai_base_url: Address = _variable("", "OPENAI_BASE_URL")
    openai_chat_model: str = _variable("gpt-5.4-mini", "OPENAI_CHAT_MODEL")
    openai_embedding_model: str = _variable("text-embedding-3-small", "OPENAI_EMBEDDING_MODEL")

    azure_search_endpoint: Address = _variable("", "AZURE_SEARCH_ENDPOINT")
    azure_search_index: str = _variable("knowledge-base", "AZURE_SEARCH_INDEX")
    azure_search_api_key: SecretStr = _variable(SecretStr(""), "AZURE_SEARCH_API_KEY")
    # The semantic ranker reorders hybrid results; the index needs a semantic configuration
    # (`make ingest` creates one with this name) and a tier that has the ranker (Basic and up).
    azure_search_semantic_ranker: bool = _variable(False, "AZURE_SEARCH_SEMANTIC_RANKER")
    azure_search_semantic_configuration: str = _variable(
        "default", "AZURE_SEARCH_SEMANTIC_CONFIGURATION"
    )

    # Retrieval: passages per answer (a request may override it), how long one search may take,
    # and what a failed search does: `fail` (503 search_unavailable) or `continue` (answer
    # without sources, saying so in a progress step).
    retrieval_top: PositiveInt = _variable(3, "CHAT_RETRIEVAL_TOP")
    search_timeout_seconds: NonNegativeFloat = _variable(10.0, "CHAT_SEARCH_TIMEOUT_SECONDS")
    search_failure: SearchFailure = _variable("fail", "CHAT_SEARCH_FAILURE")
    # A local index file written by `make ingest`; empty: built in memory from the folder.
    local_index: str = _variable("", "CHAT_LOCAL_INDEX")
    # When nothing found is relevant enough: `decline` says so without calling the model,
    # `model` lets the model answer anyway. Relevant enough (docs/ingestion.md): a semantic
    # ranker score (0 to 4) of at least `min_reranker_score` on Azure AI Search; a passage that
    # holds at least `local_min_match` of the question's keywords (weighted by rarity) locally.
    no_source_answer: NoSourceAnswer = _variable("decline", "CHAT_NO_SOURCE_ANSWER")
    min_reranker_score: NonNegativeFloat = _variable(1.5, "AZURE_SEARCH_MIN_RERANKER_SCORE")
    local_min_match: NonNegativeFloat = _variable(0.48, "CHAT_LOCAL_MIN_MATCH")
    # Keep the text of declined and rated-down questions for `make report` (30 days): personal
    # data, so off unless the owner turns it on; off, the report has counts and pages only.
    keep_questions: bool = _variable(False, "CHAT_KEEP_QUESTIONS")

    allowed_origins: Origins = _variable((), "ALLOWED_ORIGINS")
    limits: Limits = Limits()
    # Limits for a public endpoint (0 turns one off): requests per minute and model tokens per
    # UTC day for each client, model tokens per UTC day for the whole app, answers in flight in
    # one process (matches the Flex per-instance HTTP concurrency), and a deadline per answer
    # (well under the 230 s after which Azure's front end cuts a request).
    client_requests_per_minute: NonNegativeInt = _variable(10, "CHAT_CLIENT_REQUESTS_PER_MINUTE")
    client_tokens_per_day: NonNegativeInt = _variable(200_000, "CHAT_CLIENT_TOKENS_PER_DAY")
    daily_token_budget: NonNegativeInt = _variable(5_000_000, "CHAT_DAILY_TOKEN_BUDGET")
    max_concurrent_answers: NonNegativeInt = _variable(200, "CHAT_MAX_CONCURRENT_ANSWERS")
    answer_timeout_seconds: NonNegativeFloat = _variable(120.0, "CHAT_ANSWER_TIMEOUT_SECONDS")
    # Where the limits' counters live: this process, or an Azure Storage table every instance
    # shares (keyless by endpoint, or a connection string for Azurite).
    limits_store: LimitsStoreKind = _variable("memory", "CHAT_LIMITS_STORE")
    azure_storage_table_endpoint: Address = _variable("", "AZURE_STORAGE_TABLE_ENDPOINT")
    azure_storage_table_connection_string: SecretStr = _variable(
        SecretStr(""), "AZURE_STORAGE_TABLE_CONNECTION_STRING"
    )
    limits_table: str = _variable("chatlimits", "CHAT_LIMITS_TABLE")
    # The header the platform's front end sets to the client's address ("" = the peer address).
    client_address_header: HeaderName = _variable("", "CHAT_CLIENT_ADDRESS_HEADER")
    # The same limits for each client's network (IPv4 /24, IPv6 /48), and the largest share of
    # the daily budget one network may take (0 to 1); 0 turns one off.
    network_requests_per_minute: NonNegativeInt = _variable(60, "CHAT_NETWORK_REQUESTS_PER_MINUTE")
    network_tokens_per_day: NonNegativeInt = _variable(1_000_000, "CHAT_NETWORK_TOKENS_PER_DAY")
    network_budget_share: Share = _variable(0.1, "CHAT_NETWORK_BUDGET_SHARE")
    # The secret the limits' row keys are hashed with (provisioning generates it once), so the
    # store keeps no address; unset = one made for each process.
    limits_key_secret: SecretStr = _variable(SecretStr(""), "CHAT_LIMITS_KEY_SECRET")
    # Behind Azure Front Door: its profile's id; requests without it in X-Azure-FDID are refused.
    front_door_id: Lowercase = _variable("", "CHAT_FRONT_DOOR_ID")
    # In Azure (App Service's front end sets WEBSITE_INSTANCE_ID): /api/health says less.
    in_azure: Annotated[bool, BeforeValidator(bool)] = _variable(False, _APP_SERVICE)
    # Upstream calls: total time allowed for retries before the client is told, and the
    # per-request timeout (connect and between bytes) of a model call.
    model_retry_seconds: NonNegativeFloat = _variable(10.0, "CHAT_MODEL_RETRY_SECONDS")
    model_timeout_seconds: NonNegativeFloat = _variable(60.0, "CHAT_MODEL_TIMEOUT_SECONDS")
    temperature: NonNegativeFloat | None = _variable(None, "CHAT_TEMPERATURE")
    knowledge_base_dir: str = _variable("", "CHAT_KNOWLEDGE_BASE_DIR")
    # How long a streamed answer may wait before its status line is sent. A failure within it (a
    # bad key, a model that refuses at once) still gets its own HTTP status; after it the response
    # has begun, and a failure is the stream's last line. The default puts the first step on the
    # wire within 250 ms of the request being read, whatever the model and search are doing.
    opening_window_seconds: NonNegativeFloat = _variable(0.2, "CHAT_OPENING_WINDOW_SECONDS")
    # A streamed answer silent this long (a reasoning model thinking) carries a keep-alive line,
    # well inside the idle cut of proxies and Azure's front end (230 s); 0: never.
    keepalive_seconds: NonNegativeFloat = _variable(10.0, "CHAT_KEEPALIVE_SECONDS")

    # The model API: the Responses API (Azure OpenAI, OpenAI) or Chat Completions (the
    # OpenAI-compatible servers that lack /responses: Ollama, llama.cpp, vLLM, ...).
    model_api: Annotated[ModelApi, BeforeValidator(_lower)] = _variable(
        "responses", "OPENAI_API_STYLE"
    )
    # Every answer's length cap, in tokens (a reasoning model's thinking counts against it).
    max_output_tokens: PositiveInt = _variable(1024, "CHAT_MAX_OUTPUT_TOKENS")
    # Reasoning models: no temperature/top_p/max_tokens is ever sent to one; the effort is
    # sent when set; their thinking is asked for as summaries and streamed as progress steps.
    reasoning_model: bool = _variable(False, "CHAT_REASONING_MODEL")
    reasoning_effort: Annotated[ReasoningEffort, BeforeValidator(_lower)] = _variable(
        "", "CHAT_REASONING_EFFORT"
    )
    reasoning_summary: bool = _variable(True, "CHAT_REASONING_SUMMARY")

    # Telemetry (docs/observability.md): on when a destination is set, else off and not even
    # imported. The standard OTEL_* variables (headers, service name, sampling, batching) are read
    # by the OpenTelemetry SDK itself; OTEL_SDK_DISABLED=true turns it all off.
    applicationinsights_connection_string: SecretStr = _variable(
        SecretStr(""), "APPLICATIONINSIGHTS_CONNECTION_STRING"
    )
    # `Authorization=AAD` (with `ClientId=` for a user-assigned identity): ingestion by Entra ID.
    applicationinsights_authentication: str = _variable(
        "", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
    )
    otlp_endpoint: str = _variable("", "OTEL_EXPORTER_OTLP_ENDPOINT")
    telemetry_service_name: str = _variable("chat-api", "OTEL_SERVICE_NAME")
    # Record prompt, question, search query and answer text in traces: off, they may be personal.
    trace_content: bool = _variable(False, "CHAT_TRACE_CONTENT")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what is passed: `from_env` reads the environment it is given, once, so settings
        # built in code (tests, a command's variant) never pick up a stray variable.
        return (init_settings,)

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.model_host == "azure" and not self.azure_openai_endpoint:
            raise ValueError("OPENAI_HOST=azure needs AZURE_OPENAI_ENDPOINT")
        if self.retrieval == "azure" and not self.azure_search_endpoint:
            raise ValueError("CHAT_RETRIEVAL=azure needs AZURE_SEARCH_ENDPOINT")
        if self.limits_store == "table" and not (
            self.azure_storage_table_endpoint or is_set(self.azure_storage_table_connection_string)
        ):
            raise ValueError(
                "CHAT_LIMITS_STORE=table needs AZURE_STORAGE_TABLE_ENDPOINT "
                "or AZURE_STORAGE_TABLE_CONNECTION_STRING"
            )
        if self.reasoning_model and self.temperature is not None:
            raise ValueError(
                f"CHAT_TEMPERATURE cannot be used with a reasoning model ({self.chat_model}); "
                "unset it, or set CHAT_REASONING_MODEL=false if the model is not one"
            )
        return self

    def __repr__(self) -> str:
        """Every setting, with each credential shown only as set or not: the object may be
        printed or logged."""
        shown = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown.append(f"{name}={'<set>' if is_set(value) else '<not set>'}")
            elif isinstance(value, str):
                shown.append(f"{name}={_USERINFO.sub('://***@', value)!r}")
            else:
                shown.append(f"{name}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    @property
    def telemetry_enabled(self) -> bool:
        return bool(is_set(self.applicationinsights_connection_string) or self.otlp_endpoint)

    @property
    def embedding_model(self) -> str:
        """The embedding model (on Azure, its deployment); "" for none: `none` says a model
        server has no embedding model, so searches are by text alone and a question costs no
        embedding call."""
        name = ""
        if self.model_host == "azure":
            name = self.azure_openai_embedding_deployment
        elif self.model_host == "openai":
            name = self.openai_embedding_model
        return "" if name.lower() == NO_EMBEDDING_MODEL else name

    @property
    def chat_model(self) -> str:
        """The chat model's own name; on Azure the model behind the deployment, when known."""
        if self.model_host == "azure":
            return self.azure_openai_chat_model or self.azure_openai_chat_deployment
        return self.openai_chat_model if self.model_host == "openai" else ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from `env` (the process's environment by default); a value that is
        malformed, or a combination that cannot work, raises SettingsError naming the variable."""
        variables = _read(os.environ if env is None else env)
        try:
            limits = {name: variables.pop(name) for name in _names(Limits) if name in variables}
            return cls.model_validate({**_with_derived_defaults(variables), "limits": limits})
        except ValidationError as error:
            raise SettingsError(_explain(error)) from None


def is_set(secret: SecretStr) -> bool:
    return bool(secret.get_secret_value())


def is_reasoning_model(name: str) -> bool:
    return bool(_REASONING_NAME.search(name))


def _names(model: type[BaseModel]) -> tuple[str, ...]:
    """The variables a model's fields are read from."""
    names = (field.validation_alias for field in model.model_fields.values())
    return tuple(name for name in names if isinstance(name, str))


def _read(env: Mapping[str, str]) -> dict[str, str]:
    """Every variable the settings declare that is set and not blank (blank is unset)."""
    variables = {name: env.get(name, "").strip() for name in (*_names(Settings), *_names(Limits))}
    variables = {name: value for name, value in variables.items() if value}
    if env.get(_TELEMETRY_OFF, "").strip().lower() in {"1", "true", "yes", "on"}:
        for name in _TELEMETRY_VARIABLES:
            variables.pop(name, None)
    return variables


def _with_derived_defaults(variables: dict[str, str]) -> dict[str, str]:
    """The variables, with the defaults that depend on which others are set filled in."""
    found = dict(variables)

    def choose(name: str, default: str) -> None:
        if found.get(name, "auto").lower() == "auto":
            found[name] = default

    if "AZURE_OPENAI_ENDPOINT" in found:
        choose("OPENAI_HOST", "azure")
    elif "OPENAI_API_KEY" in found or "OPENAI_BASE_URL" in found:
        choose("OPENAI_HOST", "openai")
    else:
        choose("OPENAI_HOST", "offline")
    host = found["OPENAI_HOST"].lower()
    if "AZURE_SEARCH_ENDPOINT" in found:
        choose("CHAT_RETRIEVAL", "azure")
    else:
        choose("CHAT_RETRIEVAL", "local" if host == "offline" else "off")
    table = (
        "AZURE_STORAGE_TABLE_ENDPOINT" in found or "AZURE_STORAGE_TABLE_CONNECTION_STRING" in found
    )
    choose("CHAT_LIMITS_STORE", "table" if table else "memory")
    # Responses for Azure OpenAI and OpenAI; Chat Completions for any other server, which may
    # well lack /responses.
    choose(
        "OPENAI_API_STYLE",
        "chat" if host == "openai" and "OPENAI_BASE_URL" in found else "responses",
    )
    # Behind Azure Front Door, the address of the connection it accepted (a caller cannot set
    # it); in App Service (Flex Consumption included, which sets WEBSITE_INSTANCE_ID), its front
    # end's client-ip header; elsewhere the connection's peer is the client.
    if "CHAT_FRONT_DOOR_ID" in found:
        choose("CHAT_CLIENT_ADDRESS_HEADER", "x-azure-socketip")
    else:
        choose("CHAT_CLIENT_ADDRESS_HEADER", "client-ip" if _APP_SERVICE in found else "")
    # A reasoning effort set for the model says what it is, whatever its name.
    reasoning = "CHAT_REASONING_EFFORT" in found or is_reasoning_model(
        _chat_model_name(found, host)
    )
    choose("CHAT_REASONING_MODEL", str(reasoning).lower())
    return found


def _chat_model_name(variables: Mapping[str, str], host: str) -> str:
    defaults = Settings.model_fields
    if host == "azure":
        return variables.get("AZURE_OPENAI_CHAT_MODEL") or variables.get(
            "AZURE_OPENAI_CHAT_DEPLOYMENT", defaults["azure_openai_chat_deployment"].default
        )
    if host == "openai":
        return variables.get("OPENAI_CHAT_MODEL", defaults["openai_chat_model"].default)
    return ""


def _explain(error: ValidationError) -> str:
    """Each problem, naming its variable, and never echoing a value (it may be a key)."""
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        names = [part for part in problem["loc"] if isinstance(part, str)]
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{names[-1]}: {message}" if names else message)
    return "; ".join(problems)
