"""The stand-in Functions host's start (steps 1 to 3 in `functions_host.py`): the worker process
started and its message stream opened, then the worker initialised and the functions the
runtime indexed read and loaded, each step checked as the host checks it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from standins import functions_protos as protos
from standins.functions_worker import frame, read_message

ROOT = Path(__file__).resolve().parents[1]
HOST_VERSION = "4.1000.0-standin"


class HostError(RuntimeError):
    """The worker failed a step the host needs (initialisation, indexing, loading)."""


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
        *("-m", "standins.functions_worker", "--port", str(port)),
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
