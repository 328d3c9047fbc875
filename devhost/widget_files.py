"""The widget's files for pages of other sites: a page elsewhere loads `chat-widget.js` as a
module script, fetched in CORS mode, and the script reads `config.json` beside it; both are
refused by the browser without `Access-Control-Allow-Origin`. They are public files, so any
origin may read them; the API keeps its own allow-list (ALLOWED_ORIGINS)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Served to any site: the module, its runtime config and the hashed assets it may import.
PUBLIC_PATHS = frozenset({"/chat-widget.js", "/config.json"})
PUBLIC_PREFIXES = ("/assets/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class WidgetFilesForAnyOrigin:
    """ASGI middleware: GET and HEAD of the widget's files answer with `Access-Control-Allow-
    Origin: *`; every other response is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not is_public(scope["path"])
        ):
            await self.app(scope, receive, send)
            return

        async def send_with_grant(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
            await send(message)

        await self.app(scope, receive, send_with_grant)
