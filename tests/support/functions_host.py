"""A stand-in Azure Functions host for tests: starts the real Functions Python runtime
(`azure-functions-runtime`, Python 3.13+) in a worker process and serves HTTP in front of it
the way the host does, so requests reach `function_app.py` through the code that runs it in
Azure.

Run with the Python 3.13 environment (`.venv-functions`), from the app's folder:
`python -m tests.support.functions_host --port 0`; prints `READY port=N` when it serves.

What it does, in the host's order:
1. Listens on a loopback port and starts the worker (`functions_worker.py`) with that address;
   the worker connects and opens its stream of messages (`StartStream`).
2. `WorkerInitRequest`: the runtime loads the bindings, indexes `function_app.py` and, when the
   app imports the HTTP-streaming extension, starts the extension's own HTTP server (uvicorn)
   and returns its address as the `HttpUri` capability.
3. `FunctionsMetadataRequest`: the functions the runtime indexed, with their bindings (route,
   methods); `FunctionLoadRequest` for each.
4. Then, per HTTP request: an `InvocationRequest` with a new invocation id and the request's
   method, URL, headers and query as the trigger's `RpcHttp`, and
   - with `HttpUri`: the same request, body streamed, to the runtime's HTTP server with the
     header `x-ms-invocation-id`; its response is streamed back to the client chunk by chunk,
     and a client that leaves closes that connection;
   - without (classic functions, `CHAT_STREAMING=false`): the body goes in the `RpcHttp`, and
     the response is the `RpcHttp` the `InvocationResponse` returns, sent in one piece.

Not modelled: route parameters, authorisation levels, host.json limits, retries, gRPC itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from devhost.server import route_prefix
from tests.support import functions_protos as protos
from tests.support.functions_worker import frame, read_message
from tests.support.serving import serve

ROOT = Path(__file__).resolve().parents[2]
HOST_VERSION = "4.1000.0-standin"
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


class HostError(RuntimeError):
    """The worker failed a step the host needs (initialisation, indexing, loading)."""


@dataclass(frozen=True)
class HttpFunction:
    function_id: str
    name: str
    trigger: str  # the trigger parameter's name
    methods: frozenset[str]


class WorkerChannel:
    """The host's end of the worker's message stream: requests out, answers matched back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._waiting: dict[str, asyncio.Future[Any]] = {}

    def send(self, request_id: str, **content: Any) -> asyncio.Future[Any]:
        """Send one message; the future gets the worker's answer with the same request id
        (the invocation id for invocations)."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        self._writer.write(frame(protos.StreamingMessage(request_id=request_id, **content)))
        return answer

    async def receive_forever(self) -> None:
        while True:
            message = await read_message(self._reader)
            kind = message.WhichOneof("content")
            if kind == "rpc_log":
                if message.rpc_log.level >= protos.RpcLog.Warning:
                    print(f"worker: {message.rpc_log.message}", flush=True)
                continue
            answer = getattr(message, kind)
            key = answer.invocation_id if kind == "invocation_response" else message.request_id
            waiting = self._waiting.pop(key, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)


def _check(step: str, result: Any) -> None:
    if result.status != protos.StatusResult.Success:
        raise HostError(f"{step} failed: {result.exception.message}")


async def start_worker(app_dir: Path) -> tuple[WorkerChannel, asyncio.subprocess.Process]:
    """Step 1: listen, start the worker process, wait for its stream to open."""
    connected: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    connected = asyncio.get_running_loop().create_future()
    server = await asyncio.start_server(lambda r, w: connected.set_result((r, w)), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # The worker runs in the app's folder, as in Azure; PYTHONPATH finds this package.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.support.functions_worker", "--port", str(port)),
        cwd=app_dir,
        env=env,
    )
    reader, writer = await asyncio.wait_for(connected, 60)
    server.close()
    start = await read_message(reader)
    assert start.WhichOneof("content") == "start_stream"
    return WorkerChannel(reader, writer), worker


async def initialise(channel: WorkerChannel, app_dir: Path) -> tuple[str | None, list[Any]]:
    """Steps 2 and 3: initialise the worker, read the indexed functions, load each. Returns the
    runtime's HTTP address (None for classic functions) and the functions' metadata."""
    init = await channel.send(
        "init",
        worker_init_request=protos.WorkerInitRequest(
            host_version=HOST_VERSION,
            worker_directory=str(app_dir),
            function_app_directory=str(app_dir),
        ),
    )
    _check("worker initialisation", init.result)
    metadata = await channel.send(
        "metadata",
        functions_metadata_request=protos.FunctionsMetadataRequest(
            function_app_directory=str(app_dir)
        ),
    )
    _check("function indexing", metadata.result)
    functions = list(metadata.function_metadata_results)
    for function in functions:
        loaded = await channel.send(
            f"load-{function.function_id}",
            function_load_request=protos.FunctionLoadRequest(
                function_id=function.function_id, metadata=function
            ),
        )
        _check(f"loading {function.name}", loaded.result)
    return init.capabilities.get("HttpUri"), functions


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


async def run(port: int, app_dir: Path) -> None:
    # Stopped (SIGTERM), the host stops its worker first, as the Functions host does.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    channel, worker = await start_worker(app_dir)
    receiving = asyncio.create_task(channel.receive_forever())
    front_end: FrontEnd | None = None
    try:
        http_uri, functions = await initialise(channel, app_dir)
        routes = http_routes(functions, route_prefix(app_dir / "host.json"))
        print(
            f"Functions host: worker pid={worker.pid}, {len(routes)} HTTP functions, "
            f"HttpUri={http_uri or 'none (classic functions)'}",
            flush=True,
        )
        front_end = FrontEnd(channel, routes, http_uri)
        await serve(front_end.app(), "127.0.0.1", port)
    finally:
        receiving.cancel()
        if front_end is not None:
            await front_end.close()
        if worker.returncode is None:
            # uvicorn in the worker shuts down gracefully on SIGTERM, waiting for open streams.
            worker.terminate()
            try:
                await asyncio.wait_for(worker.wait(), 5)
            except TimeoutError:
                worker.kill()
                await worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "7071")))
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the function app's folder")
    args = parser.parse_args()
    try:
        asyncio.run(run(args.port, args.app_dir.resolve()))
    except (asyncio.CancelledError, KeyboardInterrupt):
        pass
    except HostError as exc:
        print(f"Functions host: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
