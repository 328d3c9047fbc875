"""The local host serves exactly what the function app declares."""

from __future__ import annotations

import json

import azure.functions as func

from devhost.server import function_routes, route_prefix


def test_route_prefix_comes_from_host_json(tmp_path):
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"http": {"routePrefix": "v2"}}}))

    assert route_prefix(tmp_path / "host.json") == "v2"
    assert route_prefix(tmp_path / "missing.json") == "api"


def test_one_route_per_declared_http_function():
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="things/{id}", methods=["GET"])
    async def thing(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    @app.route(route="echo", methods=["POST", "PUT"])
    async def echo(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(req.get_body())

    routes = function_routes(app, "api")

    assert sorted((r.path, tuple(sorted(r.methods))) for r in routes) == [
        ("/api/echo", ("POST", "PUT")),
        ("/api/things/{id}", ("GET", "HEAD")),
    ]
