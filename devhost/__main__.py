"""`python -m devhost [--host H] [--port P]`: serve the app locally (what `make run` runs)."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

import uvicorn


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            from chat_api import runtime

            settings = runtime.settings()
            service = runtime.service()
            mode = (
                "offline mode: no model configured, answers quote the documentation"
                if settings.model_host == "offline"
                else f"model host {settings.model_host}, model {service.host.model}"
            )
            port = self.servers[0].sockets[0].getsockname()[1] if self.servers else self.config.port
            # Before the ready line: what follows that line is the app's own log.
            print(
                f"The assistant on a demo site: http://{self.config.host}:{port}/demo/",
                flush=True,
            )
            print(
                f"Chat app ready at http://{self.config.host}:{port}  "
                f"({mode}; retrieval: {settings.retrieval}; "
                f"streaming: {'on' if settings.streaming else 'off'})",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devhost", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "7071")))
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from chat_api.settings import SettingsError
    from devhost import server

    try:
        app = server.create_app(static_dir=server.PAGE_BUILD)
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except server.PageNotBuilt as exc:
        print(str(exc), file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        log_level="info",
        timeout_graceful_shutdown=3,
        backlog=4096,
    )
    _Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
