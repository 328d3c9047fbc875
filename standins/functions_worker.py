"""The Functions Python worker process, for tests: the thin proxy worker Azure runs in front of
the real runtime (`azure-functions-runtime`, Python 3.13+), which does all the work.

In Azure the host starts `python worker.py --host H --port P --workerId W ...`; that proxy
worker opens a gRPC stream to the host, and hands each message it receives to the runtime's
`handle_event` functions in a task of its own event loop, with `protos` (the generated message
classes) and `host` (the address the runtime's HTTP server binds) for the first one; the answers
go back on the stream, and so do the log records of the process (`RpcLog` messages).

This module does the same over a loopback TCP connection that carries the same protobuf
messages, each prefixed with its length (4 bytes, big-endian): gRPC itself is the host's and the
proxy worker's transport, not what is under test. Run by `functions_host.py`:
`python -m standins.functions_worker --host 127.0.0.1 --port P --worker-id W`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import azure_functions_runtime as runtime

from standins import functions_protos as protos

_LENGTH = struct.Struct(">I")


async def read_message(reader: asyncio.StreamReader) -> Any:
    """One length-prefixed StreamingMessage."""
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return protos.StreamingMessage.FromString(await reader.readexactly(size))


def frame(message: Any) -> bytes:
    payload: bytes = message.SerializeToString()
    return _LENGTH.pack(len(payload)) + payload


@dataclass
class WorkerRequest:
    """What the proxy worker passes to each runtime call: the host's message and, for
    initialisation, the `protos` module and the `host` address."""

    name: str
    request: Any
    properties: dict[str, Any] = field(default_factory=dict)


class RpcLogHandler(logging.Handler):
    """Sends each log record of the process to the host as an `RpcLog` message, as the proxy
    worker does once its stream is open (so logging costs here what it costs in Azure)."""

    def __init__(self, writer: asyncio.StreamWriter, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._writer, self._loop = writer, loop
        self._loop_thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        level = min(record.levelno // 10, 5)  # DEBUG 1, INFO 2, WARNING 3, ERROR 4, CRITICAL 5
        data = frame(
            protos.StreamingMessage(
                rpc_log=protos.RpcLog(
                    level=level, message=self.format(record), category=record.name
                )
            )
        )
        if threading.get_ident() == self._loop_thread:
            self._writer.write(data)
        else:
            self._loop.call_soon_threadsafe(self._writer.write, data)


Handler = Callable[[WorkerRequest], Awaitable[Any]]

# The host's request (the StreamingMessage `content`), the runtime call that answers it, and
# the field of the answer.
_ROUTES: dict[str, tuple[Handler, str]] = {
    "worker_init_request": (runtime.worker_init_request, "worker_init_response"),
    "functions_metadata_request": (
        runtime.functions_metadata_request,
        "function_metadata_response",
    ),
    "function_load_request": (runtime.function_load_request, "function_load_response"),
    "invocation_request": (runtime.invocation_request, "invocation_response"),
}


async def dispatch(message: Any, host: str, writer: asyncio.StreamWriter) -> None:
    kind = message.WhichOneof("content")
    handler, answer = _ROUTES[kind]
    properties: dict[str, Any] = {}
    if kind == "worker_init_request":
        properties = {"protos": protos, "host": host}
    elif kind == "invocation_request":
        properties = {"threadpool": runtime.get_threadpool_executor()}
    try:
        response = await handler(WorkerRequest(kind, message, properties))
    except Exception:
        logging.getLogger(__name__).exception("%s failed in the worker", kind)
        raise
    writer.write(
        frame(protos.StreamingMessage(request_id=message.request_id, **{answer: response}))
    )


async def serve(host: str, port: int, worker_id: str) -> None:
    """Open the stream to the host, say who this worker is, then answer every message in a task
    of its own, as they come (invocations overlap)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        frame(protos.StreamingMessage(start_stream=protos.StartStream(worker_id=worker_id)))
    )
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(RpcLogHandler(writer, asyncio.get_running_loop()))
    runtime.start_threadpool_executor()
    tasks: set[asyncio.Task[None]] = set()
    while True:
        try:
            message = await read_message(reader)
        except asyncio.IncompleteReadError:
            return  # the host went away: so does its worker
        task = asyncio.create_task(dispatch(message, host, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--worker-id", default="worker-1")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.worker_id))


if __name__ == "__main__":
    main()
