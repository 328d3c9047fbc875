"""A stand-in for the managed identity endpoint of App Service and Azure Functions
(`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), on loopback, so `DefaultAzureCredential` signs in
against it exactly as it does in Azure, and nothing reaches the instance metadata address."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

SECRET = "standin-identity-header"
TOKEN = "standin-entra-token"


class StandInIdentity:
    """Hands out a token for the one client id it knows; refuses any other, as Azure does."""

    def __init__(self, client_id: str = "the-apps-identity") -> None:
        self.client_id = client_id
        self.requests: list[dict[str, Any]] = []

    async def token(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.query))
        if request.headers.get("X-IDENTITY-HEADER") != SECRET:
            return web.json_response({"error": "unauthorized"}, status=401)
        asked = request.query.get("client_id")
        if asked and asked != self.client_id:
            return web.json_response(
                {
                    "statusCode": 400,
                    "message": "No managed identity found for specified ClientId.",
                },
                status=400,
            )
        return web.json_response(
            {
                "access_token": TOKEN,
                "expires_on": str(int(time.time()) + 3600),
                "resource": request.query.get("resource", ""),
                "token_type": "Bearer",
                "client_id": self.client_id,
            }
        )

    async def start(self, monkeypatch: pytest.MonkeyPatch) -> TestServer:
        """Serve on a free loopback port and point the process's environment at it."""
        app = web.Application()
        app.router.add_get("/msi/token", self.token)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "MSI_ENDPOINT"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("IDENTITY_ENDPOINT", str(server.make_url("/msi/token")))
        monkeypatch.setenv("IDENTITY_HEADER", SECRET)
        # No developer login is found: the CLIs are looked up on this PATH only.
        monkeypatch.setenv("PATH", "/nonexistent")
        return server
