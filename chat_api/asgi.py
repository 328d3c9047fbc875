"""FastAPI/Starlette adapters: what the HTTP-streaming functions and `make run` call.
Reads the body within the size limit, delegates to the ChatService, returns its Reply."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from chat_api import errors, runtime
from chat_api.errors import ChatError
from chat_api.service import Reply, error_reply


async def chat_stream(request: Request) -> Response:
    service = runtime.service()
    body = await _read_body(request, service.settings.limits.max_body_bytes)
    if isinstance(body, Reply):
        return to_response(body)
    return to_response(await service.stream(request.headers.get("content-type"), body))


async def chat(request: Request) -> Response:
    service = runtime.service()
    body = await _read_body(request, service.settings.limits.max_body_bytes)
    if isinstance(body, Reply):
        return to_response(body)
    return to_response(await service.complete(request.headers.get("content-type"), body))


async def health(request: Request) -> Response:
    return to_response(runtime.service().health())


async def openapi(request: Request) -> Response:
    return to_response(runtime.service().openapi())


def to_response(reply: Reply) -> Response:
    if isinstance(reply.body, bytes):
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
        )
    return StreamingResponse(
        reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
    )


async def _read_body(request: Request, limit: int) -> bytes | Reply:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return error_reply(errors.bad_request("Content-Length is not a number."))
        if int(declared) > limit:
            return error_reply(errors.too_large(f"The request body is over {limit} bytes."))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return error_reply(errors.too_large(f"The request body is over {limit} bytes."))
            chunks.append(chunk)
    except ClientDisconnect:
        return error_reply(ChatError(400, "client_disconnected", "The request was not completed."))
    return b"".join(chunks)
