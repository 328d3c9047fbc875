"""A stand-in OpenAI-compatible model server that speaks the real protocol over HTTP.

Chat completions stream as server-sent events with the shapes Azure OpenAI and OpenAI send
(Azure's first chunk with empty `choices`, a chunk without `delta`, a usage chunk, `[DONE]`).
`/responses` streams the Responses API's events (`model_response_stream.py`): `response.created`,
output items, a reasoning model's summary parts (`response.reasoning_summary_text.delta`) when
the request asks for summaries, `response.output_text.delta`, then `response.completed` with
usage (reasoning tokens included), `response.incomplete`, `response.failed` or `error`.
As the service does, it refuses with a 400 `unsupported_parameter` what a reasoning model (a
gpt-5* or o-series name) does not take (`temperature`, `top_p`, `max_tokens`), and cuts an
answer at its length cap (`max_output_tokens`, `max_completion_tokens`, `max_tokens`): the
Responses API then ends with `response.incomplete`, Chat Completions with `length`.
Behaviour is chosen per request by directives in the last user message, so concurrent tests and
the browser can each ask for what they need:

  #slow      80 chunks 100 ms apart        #cut      a few chunks, then the connection drops
  #429       always 429 + Retry-After: 1   #500      always 500
  #flaky     503 on the first request for this text, then a normal answer
  #hang      never sends a response (also to a search-query request; counted as aborted when
             its caller closes it)                #stall    a few chunks, then silence
  #xss       an answer carrying script, event-handler and javascript: link payloads
  #markdown  headings, a list, code and a link        #filter   ends with content_filter
  #error     an error event in the middle of the stream
  #firstwordN  the first word after N seconds (a slow or thinking model)
  #querywaitN  the search query after N seconds    #429long  429 + Retry-After: 30
  #failed    (Responses) response.failed in the middle of the stream
  #garbled   a text delta that is not a string in the middle of the stream
  #embedhang an embedding request for this text never gets a response
  #shape-X   an event of an unexpected shape in the middle (X: a key of MALFORMED_EVENTS)
  #held      the first word only once POST /_release allows it (a model as slow as the test
             needs, whatever the machine's load)  #queryheld  the search query likewise
  #lockstep  each word after the first only once POST /_release allows it, so a client can
             take the answer one word at a time (Responses: each piece of thinking or text)
  #thinkheld (Responses) nothing after `response.created`, not even a reasoning model's
             thinking, until POST /_release allows it (a silent think as long as the test needs)

A non-streamed request whose system message (Responses: instructions) asks for a search query
is answered with one: the question's words, lowercased, directives kept (`query_for`), so a
search stand-in sees them.

Counters at GET /_stats (requests, completed, aborted, active, queries, embeddings, refused, the
last request, the last search-query request, and `calls`: the parameters of recent model
calls); POST /_reset zeroes them.
POST /_release lets a `#held`, `#thinkheld`, `#queryheld` or `#lockstep` answer send its next
part.
POST /_deny {"count": N} refuses the next N model calls (answers, queries, embeddings) with 403,
as Azure OpenAI does until a new role assignment applies.
Run: python -m standins.model --port 0   (prints "READY port=N" when listening)
"""

from __future__ import annotations

import argparse
import asyncio
import os

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from standins.model_answers import embed
from standins.model_calls import Behaviour, Counters, error_response
from standins.model_chat import ChatCompletions
from standins.model_responses import ResponsesAPI
from standins.serving import serve


class StandInModel(ChatCompletions, ResponsesAPI):
    """The HTTP app: both APIs and the embeddings under the paths Azure OpenAI and OpenAI use,
    and the control routes tests use to read, reset, release and deny."""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[self._denied])
        for prefix in ("/v1", "/openai/v1", "/openai/deployments/{deployment}"):
            app.router.add_post(prefix + "/chat/completions", self.chat)
            app.router.add_post(prefix + "/embeddings", self.embeddings)
        for prefix in ("/v1", "/openai/v1"):
            app.router.add_post(prefix + "/responses", self.responses)
        app.router.add_get("/_stats", self.stats)
        app.router.add_post("/_reset", self.reset)
        app.router.add_post("/_release", self.release)
        app.router.add_post("/_deny", self.deny)
        return app

    @web.middleware
    async def _denied(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.deny_next > 0 and not request.path.startswith("/_"):
            self.deny_next -= 1
            return error_response(
                403,
                "PermissionDenied",
                "The principal lacks the required data action.",
            )
        return await handler(request)

    async def deny(self, request: web.Request) -> web.Response:
        self.deny_next = int((await request.json())["count"])
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        c = self.counters
        return web.json_response(
            {
                "requests": c.requests,
                "completed": c.completed,
                "aborted": c.aborted,
                "active": c.active,
                "queries": c.queries,
                "embeddings": c.embeddings,
                "refused": c.refused,
                "served_tokens": c.served_tokens,
                "calls": c.calls,
                "last_request": c.last_request,
                "last_query_request": c.last_query_request,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.counters = Counters()
        self.released = asyncio.Semaphore(0)
        return web.json_response({"ok": True})

    async def release(self, request: web.Request) -> web.Response:
        self.released.release()
        return web.json_response({"ok": True})

    async def embeddings(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return error_response(401, "invalid_api_key", "Incorrect API key.")
        body = orjson.loads(await request.read())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.counters.embeddings += len(inputs)
        if any("#embedhang" in text for text in inputs):
            await asyncio.sleep(3600)
        data = [
            {"object": "embedding", "index": i, "embedding": embed(text)}
            for i, text in enumerate(inputs)
        ]
        return web.json_response(
            {"object": "list", "data": data, "model": body.get("model", ""), "usage": {}},
            dumps=lambda v: orjson.dumps(v).decode(),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--first-token-ms", type=float, default=Behaviour.first_token_ms)
    parser.add_argument("--chunk-gap-ms", type=float, default=Behaviour.chunk_gap_ms)
    parser.add_argument("--chunks", type=int, default=Behaviour.chunks)
    parser.add_argument("--context-limit-chars", type=int, default=Behaviour.context_limit_chars)
    parser.add_argument("--api-key", default=os.environ.get("STANDIN_API_KEY", ""))
    args = parser.parse_args()
    behaviour = Behaviour(
        first_token_ms=args.first_token_ms,
        chunk_gap_ms=args.chunk_gap_ms,
        chunks=args.chunks,
        context_limit_chars=args.context_limit_chars,
        api_key=args.api_key,
    )
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(StandInModel(behaviour).app(), args.host, args.port))
    else:
        uvloop.run(serve(StandInModel(behaviour).app(), args.host, args.port))


if __name__ == "__main__":
    main()
