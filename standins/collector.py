"""A stand-in OpenTelemetry collector: a real HTTP server on loopback that accepts OTLP/HTTP
export requests (protobuf, optionally gzipped) for traces, metrics and logs, decodes them with the
OpenTelemetry protocol's own message classes, and keeps what arrived for tests to read."""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from standins.loopback_http import serving

_SERVICES: dict[str, tuple[Any, Any]] = {
    "/v1/traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "/v1/logs": (
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
}


@dataclass
class Collector:
    url: str = ""
    requests: dict[str, list[Any]] = field(default_factory=lambda: {p: [] for p in _SERVICES})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[Span]:
        with self.lock:
            return [
                span
                for request in self.requests["/v1/traces"]
                for resource in request.resource_spans
                for scope in resource.scope_spans
                for span in scope.spans
            ]

    def metric_names(self) -> set[str]:
        with self.lock:
            return {
                metric.name
                for request in self.requests["/v1/metrics"]
                for resource in request.resource_metrics
                for scope in resource.scope_metrics
                for metric in scope.metrics
            }

    def log_records(self) -> list[Any]:
        with self.lock:
            return [
                record
                for request in self.requests["/v1/logs"]
                for resource in request.resource_logs
                for scope in resource.scope_logs
                for record in scope.log_records
            ]


def _handler(collector: Collector, keep: bool = True) -> type[BaseHTTPRequestHandler]:
    """Decodes every export request; keeps them unless `keep` is false (a long-running sink)."""

    class Handler(BaseHTTPRequestHandler):
        # Keeps the exporter's connection open between batches, as a real collector does.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            service = _SERVICES.get(self.path)
            if service is None:
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request_type, response_type = service
            message = request_type()
            message.ParseFromString(body)
            if keep:
                with collector.lock:
                    collector.requests[self.path].append(message)
            reply = response_type().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet: the test reads what arrived instead

    return Handler


@contextlib.contextmanager
def collector() -> Iterator[Collector]:
    """A collector on a free loopback port; `url` is what OTEL_EXPORTER_OTLP_ENDPOINT names."""
    found = Collector()
    with serving(_handler(found)) as url:
        found.url = url
        yield found


def main() -> None:
    """`python -m standins.collector --port 0`: serve until stopped (a local sink
    for `make bench`); prints "READY port=N" when listening."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sink = Collector()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(sink, keep=False))
    print(f"READY port={server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
