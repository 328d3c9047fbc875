"""The local host serves exactly what the function app declares."""

from __future__ import annotations

import json

import azure.functions as func
import httpx

from devhost.server import create_app, function_routes, route_prefix


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


async def test_a_function_that_raises_is_answered_with_a_json_internal_error(tmp_path, monkeypatch):
    (tmp_path / "raising_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"
        "@app.route(route='boom', methods=['GET'])\n"
        "async def boom(req: func.HttpRequest) -> func.HttpResponse:\n"
        "    raise RuntimeError('secret detail')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    app = create_app("raising_app", static_dir=None)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get("/api/boom")

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Something went wrong on the server."}
    }


def test_without_a_built_page_the_local_host_stops_with_a_clear_message(
    tmp_path, monkeypatch, capsys
):
    from devhost import __main__ as devhost_main
    from devhost import server

    source = tmp_path / "static_web"
    source.mkdir()
    (source / "index.html").write_text("<!doctype html><title>source</title>")
    (source / ".env").write_text("SECRET=1")
    monkeypatch.setattr(server, "PAGE_BUILD", source / "dist")

    assert devhost_main.main(["--port", "0"]) == 2
    assert "make web" in capsys.readouterr().err


async def _get_report(tmp_path, monkeypatch, client: tuple[str, int], query: str = ""):
    (tmp_path / "empty_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    transport = httpx.ASGITransport(app=create_app("empty_app", static_dir=None), client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        return await http.get(f"/api/report{query}")


async def test_the_report_is_refused_to_a_caller_off_loopback(tmp_path, monkeypatch):
    response = await _get_report(tmp_path, monkeypatch, ("192.0.2.7", 50000))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_the_report_refuses_a_day_count_that_is_not_a_number(tmp_path, monkeypatch):
    response = await _get_report(tmp_path, monkeypatch, ("::1", 50000), "?days=week")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
