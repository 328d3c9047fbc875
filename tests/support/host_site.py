"""A static site on another loopback origin that embeds the widget, as a site owner's would:
real HTTP from a thread of the test process, pages and their response headers set per test."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from standins.loopback_http import serving

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass
class HostSite:
    origin: str
    files: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def serve(self, path: str, text: str, headers: Mapping[str, str] | None = None) -> str:
        """Serves `text` at `path` (with these response headers); its address."""
        self.files[path] = (text, dict(headers or {}))
        return self.origin + path


def page(
    title: str,
    *,
    widget: str | None,
    body: str = "",
    head: str = "",
    element: str = "",
) -> str:
    """A host page: `widget` is the script's address (None: no widget), `element` an optional
    <chat-assistant> of the page's own."""
    script = f'<script type="module" src="{html.escape(widget)}"></script>' if widget else ""
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>{html.escape(title)}</title>
    {head}
    {script}
  </head>
  <body>
    <main>
      <h1>{html.escape(title)}</h1>
      {body}
    </main>
    {element}
  </body>
</html>
"""


def _handler(site: HostSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            found = site.files.get(path)
            if found is None:
                self.send_error(404)
                return
            text, headers = found
            body = text.encode()
            self.send_response(200)
            suffix = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ".html"
            self.send_header("Content-Type", CONTENT_TYPES.get(suffix, "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tests say what went wrong

    return Handler


@contextlib.contextmanager
def host_site() -> Iterator[HostSite]:
    """A site on 127.0.0.1 at a free port, until the block ends."""
    site = HostSite(origin="")
    with serving(_handler(site)) as origin:
        site.origin = origin
        yield site
