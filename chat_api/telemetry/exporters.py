"""Where telemetry goes: Application Insights through the Azure Monitor OpenTelemetry distro
(ingestion authenticated by Entra ID when the deployment turns keys off), and/or any OpenTelemetry
collector over OTLP/HTTP. Sets the global providers once and returns how to flush them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

from chat_api.settings import Settings, is_set

log = logging.getLogger(__name__)

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


class _HashedOnce(Resource):
    """A resource that computes its hash once. The OTLP exporter groups each batch's spans by
    resource, and a Resource hashes by writing its attributes out as JSON: every span, about a
    twentieth of the CPU telemetry adds to an answer."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def start_exporters(settings: Settings) -> Callable[[], None]:
    resource = _HashedOnce(Resource.create({SERVICE_NAME: settings.telemetry_service_name}))
    if is_set(settings.applicationinsights_connection_string):
        _azure_monitor(settings, resource)
    else:
        _otlp_only(resource)
    _quiet_sdk_loggers()
    from opentelemetry.instrumentation.logging import LoggingInstrumentor

    # Every log record carries otelTraceID and otelSpanID (for any formatter); the log records
    # themselves are exported by the handler set up above.
    LoggingInstrumentor().instrument(
        inject_trace_context=True, enable_log_auto_instrumentation=False
    )
    log.info("telemetry on: %s", _destinations(settings))
    return _shutdown


# The exporters' own HTTP calls and token requests would otherwise be logged at INFO, and those
# log records exported in turn, with every ingestion address in them.
_CHATTY_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "azure.monitor.opentelemetry",
    "opentelemetry",
)


def _quiet_sdk_loggers() -> None:
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _azure_monitor(settings: Settings, resource: Resource) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    extra: dict[str, Any] = {}
    if settings.otlp_endpoint:
        extra = _otlp_pipelines()
    configure_azure_monitor(
        connection_string=settings.applicationinsights_connection_string.get_secret_value(),
        credential=ingestion_credential(settings.applicationinsights_authentication),
        resource=resource,
        instrumentation_options={name: {"enabled": False} for name in _UNINSTRUMENTED},
        # Both add work to every span and log record; Application Insights' Live Metrics view is
        # the only user. Left off to keep the per-answer cost within what `make bench` allows.
        enable_live_metrics=False,
        enable_performance_counters=False,
        **extra,
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
    """OTLP/HTTP exporters as extra pipelines; they read the standard OTEL_EXPORTER_OTLP_*
    variables (endpoint, headers, timeout) themselves."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    _encode_spans_in_place()
    return {
        "span_processors": [BatchSpanProcessor(OTLPSpanExporter())],
        "metric_readers": [PeriodicExportingMetricReader(OTLPMetricExporter())],
        "log_record_processors": [BatchLogRecordProcessor(OTLPLogExporter())],
    }


def _encode_spans_in_place() -> None:
    """The OTLP span exporter encodes each batch with `encode_spans`, looked up in its own
    module: that name is pointed at the in-place encoder (`span_encoding.py`: the same
    message in under two fifths of the library's instructions). Only while it still names the
    library's encoder, so another version of the exporter keeps its own (a test checks that
    this one takes it)."""
    from opentelemetry.exporter.otlp.proto.common import trace_encoder
    from opentelemetry.exporter.otlp.proto.http import trace_exporter

    from chat_api.telemetry.span_encoding import encode_spans

    if getattr(trace_exporter, "encode_spans", None) is trace_encoder.encode_spans:
        trace_exporter.encode_spans = encode_spans  # type: ignore[attr-defined]


def _otlp_only(resource: Resource) -> None:
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    pipelines = _otlp_pipelines()
    tracer_provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER
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
