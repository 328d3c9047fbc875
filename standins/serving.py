"""Running a stand-in server as a process: listen on the given (or a free) loopback port and
say so, with the port, on standard output, which `processes.py` waits for."""

from __future__ import annotations

import asyncio

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> None:
    # Handlers are cancelled when their client goes away, so aborted streams can be counted.
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"READY port={bound}", flush=True)
    await asyncio.Event().wait()
