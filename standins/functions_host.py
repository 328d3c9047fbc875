"""A stand-in Azure Functions host for tests: starts the real Functions Python runtime
(`azure-functions-runtime`, Python 3.13+) in a worker process and serves HTTP in front of it
the way the host does, so requests reach `function_app.py` through the code that runs it in
Azure.

Run with the Python 3.13 environment (`.venv-functions`), from the app's folder:
`python -m standins.functions_host --port 0`; prints `READY port=N` when it serves.

What it does, in the host's order (steps 1 to 3 in `functions_host_startup.py`, step 4 in
`functions_host_front_end.py`):
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
import os
import signal
import sys
from pathlib import Path

from devhost.server import route_prefix
from standins.functions_host_front_end import FrontEnd, http_routes
from standins.functions_host_startup import ROOT, HostError, initialise, start_worker
from standins.serving import serve


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
