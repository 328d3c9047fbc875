"""The stand-in Functions host's HTTP front end (step 4 in `functions_host.py`): the route table
built from the functions' HTTP triggers, and per request an invocation sent to the worker, with
the request proxied to the runtime's own HTTP server (`HttpUri`) or, for classic functions,
carried in the invocation and answered by it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from standins import functions_protos as protos
from standins.functions_host_startup import WorkerChannel

# Hop-by-hop headers, and those the front end sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_NOT_RETURNED = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "date",
    "server",
}


@dataclass(frozen=True)
class HttpFunction:
    function_id: str
    name: str
    trigger: str  # the trigger parameter's name
    methods: frozenset[str]


def http_routes(functions: list[Any], prefix: str) -> dict[str, HttpFunction]:
    """The host's route table: `/{prefix}/{route}` of each function's HTTP trigger."""
    routes = {}
    for function in functions:
        for raw in function.raw_bindings:
            binding = json.loads(raw)
            if binding.get("type") != "httpTrigger":
                continue
            methods = frozenset(m.upper() for m in binding.get("methods") or ["GET", "POST"])
            path = "/" + "/".join(p for p in (prefix, binding.get("route") or function.name) if p)
            routes[path] = HttpFunction(
                function.function_id, function.name, binding["name"], methods
            )
    return routes


class FrontEnd:
    """Step 4: the host's HTTP front end, one invocation per request."""

    def __init__(
        self, channel: WorkerChannel, routes: dict[str, HttpFunction], http_uri: str | None
    ) -> None:
        self._channel, self._routes, self._http_uri = channel, routes, http_uri
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        function = self._routes.get(request.path)
        if function is None or request.method not in function.methods:
            return web.Response(status=404)
        invocation_id = str(uuid.uuid4())
        http = protos.RpcHttp(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query),
        )
        if self._http_uri is None:
            http.body.bytes = await request.read()
        invocation = self._channel.send(
            invocation_id,
            invocation_request=protos.InvocationRequest(
                invocation_id=invocation_id,
                function_id=function.function_id,
                input_data=[
                    protos.ParameterBinding(name=function.trigger, data=protos.TypedData(http=http))
                ],
            ),
        )
        if self._http_uri is None:
            return self._classic_response(await invocation)
        return await self._proxy(request, invocation_id, invocation)

    def _classic_response(self, invocation: Any) -> web.Response:
        if not _succeeded(invocation):
            return web.Response(status=500)
        http = invocation.return_value.http
        body = http.body
        payload = body.bytes if body.WhichOneof("data") == "bytes" else body.string.encode()
        headers = {k: v for k, v in http.headers.items() if k.lower() not in _NOT_RETURNED}
        return web.Response(status=int(http.status_code or 200), body=payload, headers=headers)

    async def _proxy(
        self, request: web.Request, invocation_id: str, invocation: asyncio.Future[Any]
    ) -> web.StreamResponse:
        """The request to the runtime's HTTP server; its response streamed through as read. An
        invocation that fails before the response begins is a 500, as from the host."""
        sending = asyncio.ensure_future(self._send_upstream(request, invocation_id))
        await asyncio.wait({sending, invocation}, return_when=asyncio.FIRST_COMPLETED)
        if not sending.done() and not _succeeded(invocation.result()):
            sending.cancel()
            return web.Response(status=500)
        try:
            upstream = await sending
        except aiohttp.ClientError as exc:
            print(f"Functions host: the worker's HTTP server failed: {exc!r}", flush=True)
            return web.Response(status=502)
        try:
            response = web.StreamResponse(
                status=upstream.status,
                headers={
                    k: v for k, v in upstream.headers.items() if k.lower() not in _NOT_RETURNED
                },
            )
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        except BaseException:
            upstream.close()  # the client left, or the worker did: so does this connection
            raise
        upstream.release()
        await invocation  # the invocation is over once the function has returned
        return response

    async def _send_upstream(
        self, request: web.Request, invocation_id: str
    ) -> aiohttp.ClientResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # The worker's uvicorn closes a connection idle for 5 s: reusing one idle longer
                # races that close (a request lost with "server disconnected"). The Functions
                # host's .NET client checks a pooled connection before it reuses it; this drops
                # idle ones first instead.
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=4.0),
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=False,
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        headers["x-ms-invocation-id"] = invocation_id
        assert self._http_uri is not None
        return await self._session.request(
            request.method,
            self._http_uri + request.path_qs,
            headers=headers,
            data=request.content if request.body_exists else None,
        )


def _succeeded(invocation: Any) -> bool:
    if invocation.result.status == protos.StatusResult.Success:
        return True
    print(f"Functions host: invocation failed: {invocation.result.exception.message}", flush=True)
    return False
