"""The Azure Functions app: routes only; the chat core in `chat_api/` does the work.

CHAT_STREAMING is read once, here, at load time. With streaming on, every function takes the
FastAPI Request of the HTTP-streaming extension and answers as bytes are produced. With it off,
the extension is never imported (importing it switches the whole app to HTTP streams), and
classic functions send the same bodies in one piece.
"""

import azure.functions as func

from chat_api import runtime

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
runtime.telemetry()  # exporters ready before the first request; nothing at all when off

if runtime.settings().streaming:
    from azurefunctions.extensions.http.fastapi import Request, Response

    from chat_api import asgi

    @app.route(route="chat/stream", methods=["POST"])
    async def chat_stream(req: Request) -> Response:
        return await asgi.chat_stream(req)

    @app.route(route="chat", methods=["POST"])
    async def chat(req: Request) -> Response:
        return await asgi.chat(req)

    @app.route(route="feedback", methods=["POST"])
    async def feedback(req: Request) -> Response:
        return await asgi.feedback(req)

    @app.route(route="health", methods=["GET"])
    async def health(req: Request) -> Response:
        return await asgi.health(req)

    @app.route(route="openapi.json", methods=["GET"])
    async def openapi(req: Request) -> Response:
        return await asgi.openapi(req)

else:
    from collections.abc import Awaitable, Callable
    from functools import partial

    from chat_api import wire
    from chat_api.guard import reply_safely
    from chat_api.limits import PLATFORM_HEADER
    from chat_api.limits.front_door import front_door_refusal
    from chat_api.reply import Reply, error_reply

    def _client(req: func.HttpRequest) -> str | None:
        """The client's address as the platform's front end reports it."""
        address: str | None = req.headers.get(
            runtime.settings().client_address_header or PLATFORM_HEADER
        )
        return address

    async def _classic(
        handler: Callable[[], Reply | Awaitable[Reply]], req: func.HttpRequest
    ) -> func.HttpResponse:
        forbidden = front_door_refusal(req.headers, runtime.settings().front_door_id)
        if forbidden is not None:
            handler = partial(error_reply, forbidden)
        reply = await reply_safely(handler)
        assert isinstance(reply.body, bytes)
        return func.HttpResponse(
            reply.body,
            status_code=reply.status,
            headers={**wire.API_HEADERS, **reply.headers},
            mimetype=reply.media_type,
        )

    @app.route(route="chat/stream", methods=["POST"])
    async def chat_stream(req: func.HttpRequest) -> func.HttpResponse:
        content_type = req.headers.get("content-type")
        return await _classic(
            lambda: runtime.service().buffered_stream(
                content_type, req.get_body(), req.headers, _client(req)
            ),
            req,
        )

    @app.route(route="chat", methods=["POST"])
    async def chat(req: func.HttpRequest) -> func.HttpResponse:
        content_type = req.headers.get("content-type")
        return await _classic(
            lambda: runtime.service().complete(
                content_type, req.get_body(), req.headers, _client(req)
            ),
            req,
        )

    @app.route(route="feedback", methods=["POST"])
    async def feedback(req: func.HttpRequest) -> func.HttpResponse:
        content_type = req.headers.get("content-type")
        return await _classic(
            lambda: runtime.service().feedback(
                content_type, req.get_body(), req.headers, _client(req)
            ),
            req,
        )

    @app.route(route="health", methods=["GET"])
    async def health(req: func.HttpRequest) -> func.HttpResponse:
        return await _classic(lambda: runtime.service().health(), req)

    @app.route(route="openapi.json", methods=["GET"])
    async def openapi(req: func.HttpRequest) -> func.HttpResponse:
        return await _classic(lambda: runtime.service().openapi(), req)
