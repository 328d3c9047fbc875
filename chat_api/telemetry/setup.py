"""Where telemetry goes: Application Insights through the Azure Monitor OpenTelemetry distro
(ingestion authenticated by Entra ID when the deployment turns keys off), and/or any OpenTelemetry
collector over OTLP/HTTP. Sets the global providers once, through the SDK's and the distro's
public API, and returns how to flush them. Exporters, batching, limits and sampling read the
standard OTEL_* variables themselves."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

from chat_api.settings import Settings, is_set

log = logging.getLogger(__name__)

# Parent-based, so that a trace is whole or absent (the caller's or the Functions host's decision
# is followed), and a ratio, so that OTEL_TRACES_SAMPLER_ARG alone keeps one in N (its default,
# 1.0, keeps every trace). Set as the default of the variable that the SDK and the distro both
# read: the distro's own default would keep about five traces a second.
DEFAULT_SAMPLER = "parentbased_traceidratio"

# The distro's own instrumentations for web frameworks and HTTP clients stay off: the app traces
# each request itself (a framework's span would end when the response object is returned, not
# when the stream ends), and the Functions host already records the incoming request. Azure SDK
# tracing stays on: a search call shows under the search stage.
_UNINSTRUMENTED = (
    "django",
    "fastapi",
    "flask",
    "httpx",
    "httpx2",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)

# The exporters' own HTTP calls and token requests would otherwise be logged at INFO, and those
# log records exported in turn, with every ingestion address in them.
_CHATTY_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "azure.monitor.opentelemetry",
    "opentelemetry",
)


def start_exporters(settings: Settings) -> Callable[[], None]:
    if "OTEL_TRACES_SAMPLER" not in os.environ:
        os.environ["OTEL_TRACES_SAMPLER"] = DEFAULT_SAMPLER
        os.environ.setdefault("OTEL_TRACES_SAMPLER_ARG", "1.0")  # said, or the SDK warns
    resource = Resource.create({SERVICE_NAME: settings.telemetry_service_name})
    if is_set(settings.applicationinsights_connection_string):
        _azure_monitor(settings, resource)
    else:
        _otlp_only(resource)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    from opentelemetry.instrumentation.logging import LoggingInstrumentor

    # Every log record carries otelTraceID and otelSpanID (for any formatter); the log records
    # themselves are exported by the handler set up above.
    LoggingInstrumentor().instrument(
        inject_trace_context=True, enable_log_auto_instrumentation=False
    )
    log.info("telemetry on: %s", _destinations(settings))
    return _shutdown


def _azure_monitor(settings: Settings, resource: Resource) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(
        connection_string=settings.applicationinsights_connection_string.get_secret_value(),
        credential=ingestion_credential(settings.applicationinsights_authentication),
        resource=resource,
        instrumentation_options={name: {"enabled": False} for name in _UNINSTRUMENTED},
        # Both add work to every span and log record, for Application Insights' Live Metrics
        # view alone.
        enable_live_metrics=False,
        enable_performance_counters=False,
        **(_otlp_pipelines() if settings.otlp_endpoint else {}),
    )


def ingestion_credential(authentication: str) -> Any:
    """The Entra ID credential APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for (the same
    setting the Functions host reads): `Authorization=AAD;ClientId=<id>` is the app's
    user-assigned managed identity; `Authorization=AAD` alone, whatever DefaultAzureCredential
    finds (a developer's az login); anything else, none (the connection string's key)."""
    parts = dict(part.split("=", 1) for part in authentication.split(";") if "=" in part)
    fields = {key.strip().lower(): value.strip() for key, value in parts.items()}
    if fields.get("authorization", "").upper() != "AAD":
        return None
    client_id = fields.get("clientid")
    if client_id:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=client_id)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _otlp_pipelines() -> dict[str, Any]:
    """OTLP/HTTP exporters, in the shape the distro takes extra pipelines; they read the
    standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout) themselves. The logs
    signal is still in development upstream: its SDK and exporter live in `_logs` modules."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return {
        "span_processors": [BatchSpanProcessor(OTLPSpanExporter())],
        "metric_readers": [PeriodicExportingMetricReader(OTLPMetricExporter())],
        "log_record_processors": [BatchLogRecordProcessor(OTLPLogExporter())],
    }


def _otlp_only(resource: Resource) -> None:
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    pipelines = _otlp_pipelines()
    tracer_provider = TracerProvider(resource=resource)  # its sampler: OTEL_TRACES_SAMPLER
    for processor in pipelines["span_processors"]:
        tracer_provider.add_span_processor(processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=pipelines["metric_readers"])
    )
    logger_provider = LoggerProvider(resource=resource)
    for log_processor in pipelines["log_record_processors"]:
        logger_provider.add_log_record_processor(log_processor)
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))


def _shutdown() -> None:
    """Flush what is buffered; called once when the process stops serving."""
    from opentelemetry._logs import get_logger_provider

    for provider in (
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        get_logger_provider(),
    ):
        shutdown = getattr(provider, "shutdown", None)
        if shutdown is not None:
            shutdown()


def _destinations(settings: Settings) -> str:
    names = []
    if is_set(settings.applicationinsights_connection_string):
        names.append("Application Insights")
    if settings.otlp_endpoint:
        names.append("an OpenTelemetry collector (OTLP/HTTP)")
    return " and ".join(names)
