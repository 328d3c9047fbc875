"""A stand-in for the Azure management API's model list, over HTTPS on loopback:

  GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/locations/{region}/models

answered the way the service answers it (`value` items with `kind`, `skuName` and `model`:
format, name, version, lifecycleStatus, isDefaultVersion, capabilities as "true"/"false" strings,
deprecation dates, skus with their deprecationDate), in pages linked by `nextLink`. It wants a
bearer token and an api-version, and refuses anything else as the service does. Its certificate
comes from a local test CA (trustme); clients trust it through REQUESTS_CA_BUNDLE.

It runs in a thread of the test process, so tests set the offers directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

_MODELS_PATH = re.compile(
    r"^/subscriptions/([^/]+)/providers/Microsoft\.CognitiveServices/locations/([^/]+)/models$",
    re.IGNORECASE,
)
CHAT_CAPABILITIES = ("chatCompletion", "responses")
EMBEDDING_CAPABILITIES = ("embeddings",)


def model_entry(
    name: str,
    version: str,
    *,
    capabilities: tuple[str, ...] = CHAT_CAPABILITIES,
    lifecycle: str = "GenerallyAvailable",
    default: bool = True,
    skus: dict[str, datetime | None] | None = None,
    retires: datetime | None = None,
    kind: str = "AIServices",
) -> dict[str, Any]:
    """One item of the list, shaped like the service's."""
    offered = skus if skus is not None else {"GlobalStandard": None, "Standard": None}
    return {
        "kind": kind,
        "skuName": "S0",
        "description": "",
        "model": {
            "format": "OpenAI",
            "name": name,
            "version": version,
            "isDefaultVersion": default,
            "lifecycleStatus": lifecycle,
            "maxCapacity": 1000,
            "capabilities": {
                **{capability: "true" for capability in capabilities},
                "area": "EUR",
                "maxContextToken": "128000",
            },
            "deprecation": {
                "fineTune": None,
                "inference": _date(retires),
                "deprecationStatus": "Planned",
            },
            "skus": [
                {
                    "name": sku,
                    "usageName": f"OpenAI.{sku}.{name}",
                    "deprecationDate": _date(ends),
                    "capacity": {"minimum": 1, "maximum": 1000, "step": 1, "default": 100},
                }
                for sku, ends in offered.items()
            ],
            "systemData": {"createdAt": "2025-01-01T00:00:00Z", "createdBy": "Microsoft"},
        },
    }


def _date(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


@dataclass
class StandInManagement:
    subscription: str
    token: str
    offers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Region (lower case) to list items."""
    page_size: int = 3
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def offer(self, location: str, *items: dict[str, Any]) -> None:
        self.offers[location.lower()] = list(items)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "authorization": request.headers.get("Authorization", ""),
            }
        )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        match = _MODELS_PATH.match(request.path)
        if request.method != "GET" or match is None:
            return _error(404, "NotFound", "No such resource.")
        if not request.query.get("api-version"):
            return _error(400, "MissingApiVersionParameter", "The api-version is missing.")
        subscription, location = match.group(1), match.group(2).lower()
        if subscription != self.subscription:
            return _error(404, "SubscriptionNotFound", f"{subscription} could not be found.")
        items = self.offers.get(location, [])
        start = int(request.query.get("$skiptoken", "0"))
        page: dict[str, Any] = {"value": items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            page["nextLink"] = (
                f"{self.base_url}{request.path}?api-version={request.query['api-version']}"
                f"&$skiptoken={start + self.page_size}"
            )
        return web.json_response(page, headers=_CLOSE)


# One request per connection, so no TLS connection outlives the server thread's event loop.
_CLOSE = {"Connection": "close"}


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=_CLOSE)


@contextlib.contextmanager
def running(standin: StandInManagement, ca_bundle: Path) -> Iterator[StandInManagement]:
    """Serve `standin` over HTTPS on a free loopback port; write the CA to `ca_bundle`."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(ca_bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(standin.app(), access_log=None)
    ready = threading.Event()

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = runner.addresses[0][1]
        standin.base_url = f"https://127.0.0.1:{port}"
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    ready.wait(10)

    async def stop() -> None:
        await runner.cleanup()
        # TLS transports finish closing on the next turns of the loop.
        await asyncio.sleep(0.05)

    try:
        yield standin
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
