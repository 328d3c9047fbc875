"""Builds the local ASGI app from the function app's own declarations."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import ipaddress
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chat_api.limits import PLATFORM_HEADER
from devhost.widget_files import WidgetFilesForAnyOrigin

ROOT = Path(__file__).resolve().parents[1]
# The page as built by `make web`; never its source folder (node_modules, dotfiles, sources).
PAGE_BUILD = ROOT / "static_web" / "dist"
# A made-up site that embeds the widget with its one line (plain HTML, nothing to build).
DEMO_SITE = ROOT / "static_web" / "demo"


class PageNotBuilt(RuntimeError):
    """The chat page's build is missing: the local host stops rather than serve its sources."""


Endpoint = Callable[[Request], Awaitable[Response]]


def route_prefix(host_json: Path = ROOT / "host.json") -> str:
    """The HTTP route prefix the Functions host applies (`api` unless host.json says else)."""
    try:
        config = json.loads(host_json.read_text("utf-8"))
    except FileNotFoundError:
        return "api"
    return str(config.get("extensions", {}).get("http", {}).get("routePrefix", "api"))


def function_routes(function_app: func.FunctionApp, prefix: str) -> list[Route]:
    """One route per HTTP function the app declares, with its route and methods."""
    routes = []
    for function in function_app.get_functions():
        trigger = function.get_trigger()
        if not isinstance(trigger, HttpTrigger):
            continue
        user_function = function.get_user_function()
        argument = trigger.name
        parameter = inspect.signature(user_function).parameters[argument]
        if parameter.annotation is func.HttpRequest:
            endpoint = _classic_endpoint(user_function, argument)
        else:
            endpoint = _streaming_endpoint(user_function, argument)
        declared: Iterable[object] = trigger.methods or ("GET", "POST")
        methods = [str(getattr(m, "value", m)) for m in declared]
        path = "/" + "/".join(part for part in (prefix, trigger.route) if part)
        routes.append(Route(path, endpoint, methods=methods, name=function.get_function_name()))
    return routes


def _streaming_endpoint(user_function: Callable[..., Any], argument: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        response: Response = await user_function(**{argument: request})
        return response

    return endpoint


def _classic_endpoint(user_function: Callable[..., Any], argument: str) -> Endpoint:
    """Adapts a classic function as the Functions host does: the whole body read first, the
    whole response sent at once."""

    async def endpoint(request: Request) -> Response:
        from chat_api import asgi, runtime
        from chat_api.errors import ChatError
        from chat_api.reply import error_reply

        # Refused while it is read, as the Functions host refuses a body over its limit: a
        # client cannot make the process hold a body of any size before the app sees it.
        try:
            body = await asgi.read_body(request, runtime.settings().limits.max_body_bytes)
        except ChatError as error:
            return asgi.to_response(error_reply(error))
        headers = dict(request.headers)
        # As App Service's front end does: the peer's address, replacing any value sent.
        headers[PLATFORM_HEADER] = request.client.host if request.client else ""
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=headers,
            params=dict(request.query_params),
            route_params=dict(request.path_params),
            body=body,
        )
        result = user_function(**{argument: http_request})
        if inspect.isawaitable(result):
            result = await result
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-type"}
        return Response(
            result.get_body(),
            status_code=result.status_code,
            headers=headers,
            media_type=result.mimetype,
        )

    return endpoint


def create_app(
    module_name: str = "function_app", static_dir: Path | None = PAGE_BUILD
) -> Starlette:
    """The function app's routes, the bundled docs and, unless `static_dir` is None, the built
    page at `/`; raises PageNotBuilt when that folder holds no built page."""
    if static_dir is not None and not (static_dir / "index.html").is_file():
        raise PageNotBuilt(
            f"The chat page is not built ({static_dir} has no index.html): run `make run`, "
            "which builds it, or `make web`."
        )
    module = importlib.import_module(module_name)
    from chat_api import runtime

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.service()  # build clients and the local index before the first request
        yield
        await runtime.shutdown()

    routes: list[Route | Mount] = list(function_routes(module.app, route_prefix()))
    # Served here only, never deployed: what visitors asked, for `make report`.
    routes.append(Route(f"/{route_prefix()}/report", _report, methods=["GET"], name="report"))
    # Offline answers cite the bundled documentation by path; serve it so the links open.
    routes.append(Mount("/docs", StaticFiles(directory=ROOT / "docs"), name="docs"))
    if static_dir is not None:
        routes.append(Mount("/demo", StaticFiles(directory=DEMO_SITE, html=True), name="demo"))
        routes.append(Mount("/", StaticFiles(directory=static_dir, html=True), name="page"))
    middleware = [Middleware(WidgetFilesForAnyOrigin)]
    origins = list(runtime.settings().allowed_origins)
    if origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type"],
                expose_headers=["Retry-After"],
            )
        )
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={Exception: _internal_error},
    )


REPORT_DAYS = range(1, 91)


async def _report(request: Request) -> Response:
    """`GET /api/report?days=N`: the report of this process's store, to loopback callers only
    (it names the pages visitors were on and, when kept, their questions)."""
    from chat_api import errors, runtime, wire

    peer = request.client.host if request.client is not None else ""
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        body = {"error": {"code": "forbidden", "message": "The report is served on loopback only."}}
        return Response(json.dumps(body), 403, media_type=wire.JSON)
    days = request.query_params.get("days", "7")
    if not days.isdigit() or int(days) not in REPORT_DAYS:
        error = errors.bad_request("days must be a whole number from 1 to 90.")
        return Response(wire.error_body(error), error.status, media_type=wire.JSON)
    reply = await runtime.service().report(int(days))
    assert isinstance(reply.body, bytes)
    return Response(reply.body, reply.status, media_type=reply.media_type)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """What escaped every route's own guard (the adapters here) is still a JSON error."""
    from chat_api import wire
    from chat_api.guard import internal_error_reply

    reply = internal_error_reply(exc)
    assert isinstance(reply.body, bytes)
    return Response(
        reply.body,
        status_code=reply.status,
        media_type=reply.media_type,
        headers={**wire.API_HEADERS, **reply.headers},
    )
