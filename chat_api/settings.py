"""All configuration, read once from the environment into one typed object: what each setting
is, its default, and a printed form that never shows a credential.

`Settings.from_env` is the one way in; `settings_from_env.py` reads the variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

ModelHostKind = Literal["azure", "openai", "offline"]
RetrievalKind = Literal["azure", "local", "off"]
SearchFailure = Literal["fail", "continue"]
LimitsStoreKind = Literal["memory", "table"]
ModelApi = Literal["responses", "chat"]
ReasoningEffort = Literal["", "none", "minimal", "low", "medium", "high"]

# Settings whose values are credentials: never shown by repr, str or a log line.
SECRET_NAME = re.compile(r"(_key|secret|password|token|connection_string)$")
# A user name and password written into an address (https://user:pass@host).
_USERINFO = re.compile(r"://[^/@\s]+@")


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
    # The same limits for each client's network (IPv4 /24, IPv6 /48), and the largest share of
    # the daily budget one network may take (0 to 1); 0 turns one off.
    network_requests_per_minute: int = 60
    network_tokens_per_day: int = 1_000_000
    network_budget_share: float = 0.1
    # The secret the limits' row keys are hashed with (provisioning generates it), so the store
    # keeps no address; "" = one made for each process.
    limits_key_secret: str = ""
    # Behind Azure Front Door: its profile's id; requests without it in X-Azure-FDID are refused.
    front_door_id: str = ""
    # In Azure (App Service's WEBSITE_INSTANCE_ID is set): /api/health says less.
    in_azure: bool = False
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
        """The settings from `env` (the process's environment by default)."""
        # Imported here: the reading builds the Settings this module defines.
        from chat_api.settings_from_env import settings_from_env

        return settings_from_env(env)
