"""FastAPI/Starlette adapters: what the HTTP-streaming functions and `make run` call.
Reads the body within the size limit, delegates to the ChatService, returns its Reply."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from chat_api import errors, runtime, wire
from chat_api.disconnect import ClientLeft, unless_client_leaves
from chat_api.guard import internal_error_line, reply_safely
from chat_api.limits import client_address
from chat_api.limits.front_door import front_door_refusal
from chat_api.reply import Reply, error_reply
from chat_api.service import CHAT_ROUTE, STREAM_ROUTE, Body


async def chat_stream(request: Request) -> Response:
    return to_response(await reply_safely(lambda: _answer(request, streamed=True)))


async def chat(request: Request) -> Response:
    return to_response(await reply_safely(lambda: _answer(request, streamed=False)))


async def _answer(request: Request, *, streamed: bool) -> Reply:
    service = runtime.service()
    headers = request.headers
    forbidden = front_door_refusal(headers, service.settings.front_door_id)
    if forbidden is not None:  # before the body is read, and not counted against anyone
        return service.refuse(STREAM_ROUTE if streamed else CHAT_ROUTE, forbidden, headers)
    body = await _body(request, service.settings.limits.max_body_bytes)
    peer = request.client.host if request.client else None
    client = client_address(headers, peer, header=service.settings.client_address_header)
    content_type = headers.get("content-type")
    if streamed:  # starts within the opening window; LineStream then watches the client
        return await service.stream(content_type, body, headers, client)
    try:
        work = service.complete(content_type, body, headers, client)
        return await unless_client_leaves(request.receive, work)
    except ClientLeft:
        return Reply(499, b"")  # never sent: the connection is gone


async def feedback(request: Request) -> Response:
    async def rate() -> Reply:
        service = runtime.service()
        headers = request.headers
        forbidden = front_door_refusal(headers, service.settings.front_door_id)
        if forbidden is not None:
            return error_reply(forbidden)
        peer = request.client.host if request.client else None
        client = client_address(headers, peer, header=service.settings.client_address_header)
        body = await _body(request, service.settings.limits.max_body_bytes)
        return await service.feedback(headers.get("content-type"), body, headers, client)

    return to_response(await reply_safely(rate))


async def health(request: Request) -> Response:
    return to_response(await reply_safely(lambda: _unless_forbidden(request, "health")))


async def openapi(request: Request) -> Response:
    return to_response(await reply_safely(lambda: _unless_forbidden(request, "openapi")))


def _unless_forbidden(request: Request, route: str) -> Reply:
    service = runtime.service()
    forbidden = front_door_refusal(request.headers, service.settings.front_door_id)
    if forbidden is not None:
        return error_reply(forbidden)
    return service.health() if route == "health" else service.openapi()


def to_response(reply: Reply) -> Response:
    headers = {**wire.API_HEADERS, **reply.headers}
    if isinstance(reply.body, bytes):
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers
        )
    stream = LineStream(
        reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers
    )
    stream.keepalive_seconds = reply.keepalive_seconds
    return stream


class LineStream(StreamingResponse):
    """Sends each line the moment it is produced, and stops the moment the client goes away,
    even while the model is silent: the body's generators are cancelled, which closes the model's
    stream. Starlette's StreamingResponse does the same with an anyio task group, whose set-up and
    tear-down cost more CPU per answer than the rest of the request (`make bench`); this uses one
    plain asyncio task that waits for the disconnect (`disconnect.unless_client_leaves`, as the
    answers sent in one piece do).

    While nothing has been sent for `keepalive_seconds`, a keep-alive line goes out, so proxies
    and load balancers that cut idle connections keep a thinking model's answer open."""

    keepalive_seconds: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keepalive = _KeepAlive(send, self.keepalive_seconds) if self.keepalive_seconds else None
        try:
            await unless_client_leaves(receive, self._send_lines(send, keepalive))
        except ClientLeft:
            pass  # no one to send the rest to: the request ends quietly
        finally:
            if keepalive is not None:
                keepalive.stop()
            # Stops the answer even when its first line was never asked for.
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _send_lines(self, send: Send, keepalive: _KeepAlive | None) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            if keepalive is None:
                async for line in self.body_iterator:
                    await send({"type": "http.response.body", "body": line, "more_body": True})
            else:
                async for line in self.body_iterator:
                    keepalive.lines += 1
                    await send({"type": "http.response.body", "body": line, "more_body": True})
        except Exception as exc:  # the status is sent: the failure becomes the last line
            line = internal_error_line(exc, getattr(self.body_iterator, "ref", ""))
            await send({"type": "http.response.body", "body": line, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _KeepAlive:
    """Sends the keep-alive line when no line went out during the last half interval and the
    one before it: at most one timer per answer, nothing per line but a counter."""

    def __init__(self, send: Send, interval: float) -> None:
        self._send = send
        self._period = interval / 2
        self._seen = 0
        self._sending: asyncio.Task[None] | None = None
        self.lines = 0
        self._timer = asyncio.get_running_loop().call_later(self._period, self._tick)

    def _tick(self) -> None:
        if self.lines == self._seen and (self._sending is None or self._sending.done()):
            self._sending = asyncio.get_running_loop().create_task(self._send_line())
        self._seen = self.lines
        self._timer = asyncio.get_running_loop().call_later(self._period, self._tick)

    async def _send_line(self) -> None:
        # OSError: the client left; the disconnect watcher ends the answer.
        with contextlib.suppress(OSError):
            await self._send(
                {"type": "http.response.body", "body": wire.KEEPALIVE_LINE, "more_body": True}
            )

    def stop(self) -> None:
        self._timer.cancel()
        if self._sending is not None:
            self._sending.cancel()


async def _body(request: Request, limit: int) -> Body:
    """The body, read whole before anything else listens to the connection (the watch for a
    client that leaves would take its chunks); a refusal while it is read is handed on, for the
    service to answer, trace and log as any other."""
    try:
        return await read_body(request, limit)
    except errors.ChatError as error:
        return _raise(error)


async def _raise(error: errors.ChatError) -> bytes:
    raise error


async def read_body(request: Request, limit: int) -> bytes:
    """The body; raises the ChatError as soon as it is known to be over `limit` bytes: a
    declared length is checked before reading, a chunked body while it is read."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise errors.bad_request("Content-Length is not a number.")
        if int(declared) > limit:
            raise errors.too_large(f"The request body is over {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise errors.too_large(f"The request body is over {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise errors.client_disconnected() from None
    return b"".join(chunks)
