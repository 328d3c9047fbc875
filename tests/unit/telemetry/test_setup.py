"""Telemetry is chosen from the settings: off (and not even imported) unless a destination is
set; Application Insights ingestion authenticated by the identity the settings name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from chat_api.settings import Settings
from chat_api.telemetry import NO_TELEMETRY, create_telemetry
from chat_api.telemetry.setup import ingestion_credential
from standins.processes import ROOT

# Imports the app as the Functions worker does, answers one question offline, then lists the
# telemetry modules loaded.
_PROBE = """
import asyncio, json, sys
import function_app
from chat_api import runtime

BODY = b'{"messages": [{"role": "user", "content": "What is NDJSON?"}]}'

async def main():
    reply = await runtime.service().stream("application/json", BODY)
    if not isinstance(reply.body, bytes):
        assert [line async for line in reply.body]

asyncio.run(main())
PREFIXES = ("opentelemetry", "azure.monitor", "chat_api.telemetry.")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(PREFIXES))))
"""
_FASTAPI_ONLY = """
import json, sys, fastapi
print(json.dumps(sorted(m for m in sys.modules if m.startswith("opentelemetry"))))
"""
_OFF_ENV = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_SEARCH_ENDPOINT",
    "CHAT_STREAMING",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
)
_SDK_AND_EXPORTERS = (
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "azure.monitor",
    "chat_api.telemetry.",
)


# Starts telemetry as the app does (OTEL_TRACES_SAMPLER* as the environment says), and says
# whether a span is kept at the root of a trace and under a caller's span that was not sampled.
_SAMPLED = """
import os
from opentelemetry import propagate
from chat_api.settings import Settings
from chat_api.telemetry import create_telemetry
telemetry = create_telemetry(Settings.from_env(os.environ))
unsampled = propagate.extract({"traceparent": "00-%s-%s-00" % ("ab" * 16, "cd" * 8)})
kept = [
    telemetry.tracer.start_span(f"probe {n}").is_recording() for n in range(200)
] + [telemetry.tracer.start_span("under", context=unsampled).is_recording()]
print(json.dumps({"root": sum(kept[:-1]), "under_unsampled": kept[-1]}))
"""


def _last_line(code: str, **env: str) -> Any:
    """What `code`, run in a fresh interpreter with no destination but those in `env`, printed
    last (as JSON)."""
    clean = {k: v for k, v in os.environ.items() if k not in _OFF_ENV}
    result = subprocess.run(
        [sys.executable, "-c", f"import json\n{code}"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _modules(code: str, **env: str) -> set[str]:
    return set(_last_line(code, **env))


def test_with_no_destination_nothing_of_telemetry_is_imported_beyond_what_fastapi_brings():
    loaded = _modules(_PROBE)

    assert not {m for m in loaded if m.startswith(_SDK_AND_EXPORTERS)}
    # FastAPI itself imports the OpenTelemetry API; the app adds nothing to it.
    assert loaded <= _modules(_FASTAPI_ONLY)


def test_with_streaming_off_no_opentelemetry_module_is_imported_at_all():
    assert _modules(_PROBE, CHAT_STREAMING="false") == set()


def test_by_default_every_trace_is_kept_unless_the_caller_s_was_not():
    kept = _last_line(_SAMPLED, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")

    assert kept == {"root": 200, "under_unsampled": False}


def test_the_sampler_argument_alone_keeps_that_share_of_the_traces():
    kept = _last_line(
        _SAMPLED, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_TRACES_SAMPLER_ARG="0.1"
    )

    assert 5 <= kept["root"] <= 45  # about 20 of 200, by random trace ids


def test_no_destination_means_no_telemetry():
    assert Settings.from_env({}).telemetry_enabled is False
    assert create_telemetry(Settings.from_env({})) is NO_TELEMETRY


@pytest.mark.parametrize(
    "env",
    [
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=0000-0000"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
    ],
)
def test_either_destination_turns_telemetry_on(env):
    assert Settings.from_env(env).telemetry_enabled is True


def test_otel_sdk_disabled_turns_it_off_whatever_else_is_set():
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}

    assert Settings.from_env(env).telemetry_enabled is False


def test_content_is_not_recorded_unless_asked():
    assert Settings.from_env({}).trace_content is False
    assert Settings.from_env({"CHAT_TRACE_CONTENT": "true"}).trace_content is True


def test_the_app_identity_named_in_the_authentication_string_sends_the_telemetry():
    credential = ingestion_credential(
        "Authorization=AAD;ClientId=11111111-2222-3333-4444-555555555555"
    )

    assert isinstance(credential, ManagedIdentityCredential)


def test_entra_authentication_without_a_client_id_uses_the_default_credential_chain():
    assert isinstance(ingestion_credential("Authorization=AAD"), DefaultAzureCredential)


def test_without_entra_authentication_the_connection_string_alone_is_used():
    assert ingestion_credential("") is None
