"""Stop the work for a client that has gone: the request's task is cancelled the moment the
client disconnects, at any stage (the search query, the search, the model's answer, a stream's
lines), which closes every model and search call in flight. Used for an answer sent in one piece
(`POST /api/chat`) and by `asgi.LineStream` for a streamed one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import Receive

_T = TypeVar("_T")


class ClientLeft(Exception):
    """The client disconnected before the response was ready; there is no one to answer."""


async def unless_client_leaves(receive: Receive, work: Awaitable[_T]) -> _T:
    """`await work`, cancelled (as ClientLeft) if the client disconnects first. One watcher
    task; the work runs in the request's own task."""
    current = asyncio.current_task()
    assert current is not None
    left = False

    async def watch() -> None:
        nonlocal left
        while (await receive())["type"] != "http.disconnect":
            pass
        left = True
        current.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if not left or current.uncancel() > 0:
            raise
        raise ClientLeft from None
    finally:
        watcher.cancel()
