"""A stand-in for Application Insights ingestion and for the managed identity token endpoint,
both real HTTP servers on loopback, so the Azure Monitor distro runs as it does in Azure:

- ingestion over HTTPS (a self-signed certificate the app is told to trust: the Azure SDK sends
  a bearer token over TLS only), taking the distro's track requests (JSON envelopes, optionally
  gzipped) and answering as the service does;
- the token endpoint of the App Service managed identity protocol (IDENTITY_ENDPOINT and
  IDENTITY_HEADER, which Azure Functions sets), handing out a token for the scope asked for.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "standin-entra-token"
IDENTITY_HEADER = "standin-identity-header"


@dataclass
class AppInsights:
    ingestion_url: str = ""
    identity_url: str = ""
    certificate: Path = Path()
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connection_string(self) -> str:
        return (
            "InstrumentationKey=00000000-0000-0000-0000-000000000001;"
            f"IngestionEndpoint={self.ingestion_url}/"
        )

    def app_env(self) -> dict[str, str]:
        """The settings that make the app send its telemetry here and nowhere else: no SDK
        statistics, no control plane, no VM metadata."""
        return {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": self.connection_string(),
            "REQUESTS_CA_BUNDLE": str(self.certificate),
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
            "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
            "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",
        }

    def received(self, kind: str) -> list[dict[str, Any]]:
        """Envelopes of one kind: `Request`, `RemoteDependency`, `Message`, `Metric`..."""
        with self.lock:
            return [e for e in self.envelopes if e["data"]["baseType"] == f"{kind}Data"]


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "standin-cert.pem", folder / "standin-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _reply(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _ingestion_handler(sink: AppInsights) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if not self.path.endswith("/track"):
                self.send_error(404)
                return
            envelopes = json.loads(body)
            with sink.lock:
                sink.envelopes.extend(envelopes)
                sink.authorizations.append(self.headers.get("Authorization", ""))
            count = len(envelopes)
            _reply(self, {"itemsReceived": count, "itemsAccepted": count, "errors": []})

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def _identity_handler(sink: AppInsights) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            with sink.lock:
                sink.token_requests.append(
                    {**query, "header": self.headers.get("X-IDENTITY-HEADER", "")}
                )
            if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
                self.send_error(401)
                return
            _reply(
                self,
                {
                    "access_token": TOKEN,
                    "expires_on": str(int(time.time()) + 3600),
                    "resource": query.get("resource", ""),
                    "token_type": "Bearer",
                    "client_id": query.get("client_id", ""),
                },
            )

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextlib.contextmanager
def app_insights(folder: Path) -> Iterator[AppInsights]:
    sink = AppInsights()
    cert_file, key_file = _certificate(folder)
    sink.certificate = cert_file
    ingestion = ThreadingHTTPServer(("127.0.0.1", 0), _ingestion_handler(sink))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    ingestion.socket = context.wrap_socket(ingestion.socket, server_side=True)
    identity = ThreadingHTTPServer(("127.0.0.1", 0), _identity_handler(sink))
    sink.ingestion_url = f"https://127.0.0.1:{ingestion.server_address[1]}"
    sink.identity_url = f"http://127.0.0.1:{identity.server_address[1]}/msi/token"
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (ingestion, identity)]
    for thread in threads:
        thread.start()
    try:
        yield sink
    finally:
        for server in (ingestion, identity):
            server.shutdown()
            server.server_close()
