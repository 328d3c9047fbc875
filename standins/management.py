"""A stand-in for the parts of the Azure management API that `azd up`'s preprovision hook reads,
over HTTPS on loopback:

  GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/locations/{region}/models
  GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/locations/{region}/usages
  GET /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts
  GET .../accounts/{account}/deployments
  GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/deletedAccounts
  DELETE .../locations/{region}/resourceGroups/{group}/deletedAccounts/{account} (purge)
  GET /subscriptions/{id}/providers/Microsoft.Search/searchServices

answered the way the service answers them: the model list's `value` items with `kind`, `skuName`
and `model` (format, name, version, lifecycleStatus, isDefaultVersion, capabilities as
"true"/"false" strings, deprecation dates, skus with their usageName and deprecationDate); usages
as `name.value`, `currentValue` and `limit`; every list in pages linked by `nextLink`. It wants a
bearer token and an api-version, and refuses anything else as the service does (an unknown
resource group is 404 ResourceGroupNotFound). Its certificate comes from a local test CA
(trustme); clients trust it through REQUESTS_CA_BUNDLE.

It runs in a thread of the test process, so tests set the offers directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

_PROVIDER = r"^/subscriptions/(?P<subscription>[^/]+)"
_COGNITIVE = r"/providers/Microsoft\.CognitiveServices"
_GROUP = r"/resourceGroups/(?P<group>[^/]+)"
_MODELS_PATH = re.compile(
    _PROVIDER + _COGNITIVE + r"/locations/(?P<location>[^/]+)/models$", re.IGNORECASE
)
_USAGES_PATH = re.compile(
    _PROVIDER + _COGNITIVE + r"/locations/(?P<location>[^/]+)/usages$", re.IGNORECASE
)
_ACCOUNTS_PATH = re.compile(_PROVIDER + _GROUP + _COGNITIVE + r"/accounts$", re.IGNORECASE)
_DEPLOYMENTS_PATH = re.compile(
    _PROVIDER + _GROUP + _COGNITIVE + r"/accounts/(?P<account>[^/]+)/deployments$", re.IGNORECASE
)
_DELETED_PATH = re.compile(_PROVIDER + _COGNITIVE + r"/deletedAccounts$", re.IGNORECASE)
_PURGE_PATH = re.compile(
    _PROVIDER
    + _COGNITIVE
    + r"/locations/(?P<location>[^/]+)"
    + _GROUP
    + r"/deletedAccounts/(?P<account>[^/]+)$",
    re.IGNORECASE,
)
_SEARCH_PATH = re.compile(
    _PROVIDER + r"/providers/Microsoft\.Search/searchServices$", re.IGNORECASE
)
_Answer = Callable[[web.Request, dict[str, str]], web.Response]
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
    usages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Region (lower case) to usage items."""
    accounts: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    """Resource group (lower case) to its accounts, each account name to its deployments."""
    deleted: list[dict[str, Any]] = field(default_factory=list)
    search_services: list[dict[str, Any]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    """Path endings (such as "/usages") the caller's token may not read: 403 AuthorizationFailed."""
    ca_bundle: Path | None = None
    """The file holding the CA that signed the stand-in's certificate, once it serves."""

    def offer(self, location: str, *items: dict[str, Any]) -> None:
        self.offers[location.lower()] = list(items)

    def quota(self, location: str, usage_name: str, *, used: int, limit: int) -> None:
        """One usages item: `used` of `limit` capacity units (thousands of tokens per minute)."""
        self.usages.setdefault(location.lower(), []).append(
            {
                "name": {"value": usage_name, "localizedValue": usage_name},
                "currentValue": used,
                "limit": limit,
                "unit": "Count",
            }
        )

    def account(self, group: str, name: str, *deployments: dict[str, Any]) -> None:
        self.accounts.setdefault(group.lower(), {})[name] = list(deployments)

    def deleted_account(self, location: str, group: str, name: str) -> None:
        self.deleted.append(
            {
                "id": f"/subscriptions/{self.subscription}/providers/Microsoft.CognitiveServices"
                f"/locations/{location}/resourceGroups/{group}/deletedAccounts/{name}",
                "name": name,
                "location": location,
                "kind": "AIServices",
                "properties": {"deletionDate": "2026-11-30T10:00:00Z"},
            }
        )

    def search_service(self, group: str, name: str, sku: str, location: str = "eastus2") -> None:
        self.search_services.append(
            {
                "id": f"/subscriptions/{self.subscription}/resourceGroups/{group}"
                f"/providers/Microsoft.Search/searchServices/{name}",
                "name": name,
                "location": location,
                "sku": {"name": sku},
                "properties": {"replicaCount": 1, "partitionCount": 1},
            }
        )

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
        if not request.query.get("api-version"):
            return _error(400, "MissingApiVersionParameter", "The api-version is missing.")
        if any(request.path.endswith(ending) for ending in self.forbidden):
            return _error(403, "AuthorizationFailed", "The client may not perform this action.")
        for method, pattern, answer in self._routes():
            match = pattern.match(request.path)
            if match is None or request.method != method:
                continue
            subscription = match["subscription"]
            if subscription != self.subscription:
                return _error(404, "SubscriptionNotFound", f"{subscription} could not be found.")
            return answer(request, {k: v for k, v in match.groupdict().items() if v})
        return _error(404, "NotFound", "No such resource.")

    def _routes(self) -> list[tuple[str, re.Pattern[str], _Answer]]:
        listed = self._page

        def regional(table: dict[str, list[dict[str, Any]]]) -> _Answer:
            return lambda r, m: listed(r, table.get(m["location"].lower(), []))

        return [
            ("GET", _MODELS_PATH, regional(self.offers)),
            ("GET", _USAGES_PATH, regional(self.usages)),
            ("GET", _ACCOUNTS_PATH, self._accounts),
            ("GET", _DEPLOYMENTS_PATH, self._deployments),
            ("GET", _DELETED_PATH, lambda r, m: listed(r, self.deleted)),
            ("DELETE", _PURGE_PATH, self._purge),
            ("GET", _SEARCH_PATH, lambda r, m: listed(r, self.search_services)),
        ]

    def _group(self, name: str) -> dict[str, list[dict[str, Any]]] | None:
        return self.accounts.get(name.lower())

    def _accounts(self, request: web.Request, match: dict[str, str]) -> web.Response:
        group = self._group(match["group"])
        if group is None:
            return _missing_group(match["group"])
        items = [
            {
                "id": f"{request.path}/{name}",
                "name": name,
                "kind": "AIServices",
                "location": "swedencentral",
                "sku": {"name": "S0"},
                "properties": {"provisioningState": "Succeeded"},
            }
            for name in group
        ]
        return self._page(request, items)

    def _deployments(self, request: web.Request, match: dict[str, str]) -> web.Response:
        group = self._group(match["group"])
        if group is None:
            return _missing_group(match["group"])
        if match["account"] not in group:
            return _error(404, "ResourceNotFound", f"{match['account']} was not found.")
        return self._page(request, group[match["account"]])

    def _purge(self, request: web.Request, match: dict[str, str]) -> web.Response:
        before = len(self.deleted)
        self.deleted = [
            item
            for item in self.deleted
            if not item["id"]
            .lower()
            .endswith(
                f"/resourcegroups/{match['group']}/deletedaccounts/{match['account']}".lower()
            )
        ]
        if len(self.deleted) == before:
            return _error(404, "ResourceNotFound", f"{match['account']} is not soft-deleted.")
        return web.Response(status=200, headers=_CLOSE)

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
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


def deployment(name: str, model: str, version: str, *, sku: str, capacity: int) -> dict[str, Any]:
    """One item of an account's deployment list, shaped like the service's."""
    return {
        "id": f"/deployments/{name}",
        "name": name,
        "sku": {"name": sku, "capacity": capacity},
        "properties": {
            "model": {"format": "OpenAI", "name": model, "version": version},
            "provisioningState": "Succeeded",
        },
    }


def _missing_group(name: str) -> web.Response:
    return _error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=_CLOSE)


@contextlib.contextmanager
def running(standin: StandInManagement, ca_bundle: Path) -> Iterator[StandInManagement]:
    """Serve `standin` over HTTPS on a free loopback port; write the CA to `ca_bundle`."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(ca_bundle))
    standin.ca_bundle = ca_bundle
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
