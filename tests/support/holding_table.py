"""A loopback Table endpoint in front of a real one (Azurite) that holds the requests naming one
partition open, never answering them, and passes every other request through: a store that
hangs for the visitors' report's rows only, while the ratings' rows are kept."""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

from standins.loopback_http import serving

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host"}


class HeldRequests:
    """What the endpoint held: requests received, and of those, given up by the client."""

    def __init__(self) -> None:
        self.received = 0
        self.released = 0
        self._lock = threading.Lock()

    def arrived(self) -> None:
        with self._lock:
            self.received += 1

    def left(self) -> None:
        with self._lock:
            self.released += 1


@contextlib.contextmanager
def holding_table(table_endpoint: str, partition: str) -> Iterator[tuple[str, HeldRequests]]:
    """Serves until the block ends; yields its `http://` address and what it held.
    `table_endpoint` is the real service's `http://host:port`."""
    held = HeldRequests()
    real = urlsplit(table_endpoint)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if partition in unquote(self.path):
                held.arrived()
                self.close_connection = True
                while self.connection.recv(4096):  # until the client gives up and closes
                    pass
                held.left()
                return
            self._pass_on(body)

        def _pass_on(self, body: bytes) -> None:
            upstream = http.client.HTTPConnection(real.hostname or "", real.port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                content = answer.read()
            finally:
                upstream.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = _serve

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as address:
        yield address, held
