"""The framework-independent API: validation and how a stream starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from chat_api import model_errors
from chat_api.errors import ChatError
from chat_api.events import End, TextDelta
from chat_api.hosts import Prompt
from chat_api.service import ChatService
from chat_api.settings import Limits, Settings
from tests.support.ndjson import question


class ScriptedHost:
    """A model host that plays back a script: deltas, then End, or raises at a given point."""

    name = "scripted"
    model = "scripted-model"
    reasoning = False

    def __init__(
        self,
        words: list[str],
        fail_at: int | None = None,
        error: ChatError | None = None,
        first_word: asyncio.Event | None = None,
    ):
        self.words = words
        self.fail_at = fail_at
        self.error = error or model_errors.model_failed()
        self.first_word = first_word  # set: the model may answer
        self.closed = asyncio.Event()
        self.asked = asyncio.Event()  # set: the model call has begun
        self.prompts: list[Prompt] = []

    async def stream_answer(self, prompt: Prompt) -> AsyncIterator[TextDelta | End]:
        self.prompts.append(prompt)
        self.asked.set()
        try:
            if self.first_word is not None:
                await self.first_word.wait()
            for index, word in enumerate(self.words):
                if index == self.fail_at:
                    raise self.error
                yield TextDelta(word)
        finally:
            self.closed.set()
        if self.fail_at is not None and self.fail_at >= len(self.words):
            raise self.error
        yield End()

    async def aclose(self) -> None:
        return None


def _service(host: ScriptedHost, **limits: int) -> ChatService:
    return ChatService(Settings(limits=Limits(**limits)), host)


async def _body(reply) -> bytes:
    if isinstance(reply.body, bytes):
        return reply.body
    return b"".join([chunk async for chunk in reply.body])


def _json(value: object) -> bytes:
    return orjson.dumps(value)


def test_parse_accepts_a_conversation_and_its_overrides():
    body = question("third", "first", "second")
    body["context"]["overrides"] = {"retrieval": False, "top": 5}

    request = _service(ScriptedHost([])).parse("application/json; charset=utf-8", _json(body))

    assert [m.content for m in request.messages] == ["first", "second", "third"]
    assert request.context.overrides.retrieval is False
    assert request.context.overrides.top == 5


def test_parse_ignores_unknown_fields_on_messages():
    body = {"messages": [{"role": "user", "content": "hi", "name": "x", "id": 1}]}

    request = _service(ScriptedHost([])).parse("application/json", _json(body))

    assert request.messages[0].content == "hi"


@pytest.mark.parametrize(
    ("limits", "body"),
    [
        ({"max_body_bytes": 50}, question("x" * 100)),
        ({"max_messages": 2}, question("c", "a", "b")),
        ({"max_message_chars": 10}, question("x" * 11)),
    ],
)
def test_parse_refuses_what_is_over_the_limits_with_413(limits, body):
    with pytest.raises(ChatError) as caught:
        _service(ScriptedHost([]), **limits).parse("application/json", _json(body))

    assert caught.value.status == 413


def test_validation_messages_say_where_but_never_echo_the_input():
    body = {"messages": [{"role": "secret-role-value", "content": "hi"}]}

    with pytest.raises(ChatError) as caught:
        _service(ScriptedHost([])).parse("application/json", _json(body))

    assert "messages.0.role" in caught.value.message
    assert "secret-role-value" not in caught.value.message


async def test_a_failure_before_any_answer_is_an_error_status():
    host = ScriptedHost(["never"], fail_at=0, error=model_errors.rate_limited(7))
    # A window no stall of a busy machine can outlast: the failure is within it.
    service = ChatService(Settings(opening_window_seconds=30), host)

    reply = await service.stream("application/json", _json(question("hi")))

    assert reply.status == 429
    assert reply.headers == {"Retry-After": "7", "Access-Control-Expose-Headers": "Retry-After"}
    assert orjson.loads(reply.body)["error"]["code"] == "rate_limited"


async def test_a_failure_after_the_answer_began_is_the_last_line():
    service = _service(
        ScriptedHost(["one", " two"], fail_at=2, error=model_errors.stream_interrupted())
    )

    reply = await service.stream("application/json", _json(question("hi")))
    lines = [orjson.loads(line) for line in (await _body(reply)).splitlines()]

    assert reply.status == 200
    assert lines[-2] == {"delta": {"role": "assistant", "content": " two"}}
    assert lines[-1]["error"]["code"] == "stream_interrupted"


async def test_buffered_stream_is_the_same_lines_in_one_body():
    service = _service(ScriptedHost(["a", " b"]))
    body = _json(question("hi"))

    streamed = await _body(await service.stream("application/json", body))
    buffered = await service.buffered_stream("application/json", body)

    assert isinstance(buffered.body, bytes)
    assert [orjson.loads(x)["delta"].get("content") for x in buffered.body.splitlines()] == [
        orjson.loads(x)["delta"].get("content") for x in streamed.splitlines()
    ]


async def test_a_completion_fails_as_a_whole():
    service = _service(ScriptedHost(["one"], fail_at=1))

    reply = await service.complete("application/json", _json(question("hi")))

    assert reply.status == 502


async def test_the_question_reaches_the_host_after_the_system_prompt():
    host = ScriptedHost(["ok"])

    await _body(await _service(host).stream("application/json", _json(question("why?"))))

    assert host.prompts[0].messages[0]["role"] == "system"
    assert host.prompts[0].messages[-1] == {"role": "user", "content": "why?"}


async def test_a_silent_model_does_not_hold_the_response_or_its_steps():
    first_word = asyncio.Event()
    service = _service(ScriptedHost(["late"], first_word=first_word))

    reply = await asyncio.wait_for(service.stream("application/json", _json(question("hi"))), 5)
    lines = aiter(reply.body)
    opening = [orjson.loads(await anext(lines)) for _ in range(2)]

    assert reply.status == 200
    assert [line["context"]["step"]["title"] for line in opening] == [
        "Question received",
        "Generating the answer",
    ]
    first_word.set()
    rest = [orjson.loads(line) async for line in lines]
    assert rest[0] == {"delta": {"role": "assistant", "content": "late"}}
    assert rest[-1]["context"]["finish_reason"] == "stop"


async def test_a_failure_after_the_opening_window_is_the_last_line_with_its_wait():
    first_word = asyncio.Event()
    host = ScriptedHost([], fail_at=0, error=model_errors.rate_limited(30), first_word=first_word)

    reply = await _service(host).stream("application/json", _json(question("hi")))
    first_word.set()
    lines = [orjson.loads(line) for line in (await _body(reply)).splitlines()]

    assert reply.status == 200
    error = lines[-1]["error"]
    assert error == {
        "code": "rate_limited",
        "message": model_errors.rate_limited(30).message,
        "retry_after_seconds": 30,
        "ref": error["ref"],
    }


async def test_closing_an_unread_stream_stops_the_model_call():
    host = ScriptedHost(["never"], first_word=asyncio.Event())

    reply = await _service(host).stream("application/json", _json(question("hi")))
    await reply.body.aclose()

    assert host.closed.is_set()


async def test_closing_a_stream_while_the_model_is_silent_stops_the_model_call():
    host = ScriptedHost(["never"], first_word=asyncio.Event())
    reply = await _service(host).stream("application/json", _json(question("hi")))
    lines = aiter(reply.body)
    for _ in range(2):
        await anext(lines)  # the steps; the model has not answered

    reader = asyncio.get_running_loop().create_task(anext(lines))
    await asyncio.sleep(0.05)
    reader.cancel()  # what the response does when the client leaves
    await asyncio.wait((reader,))
    await reply.body.aclose()

    assert host.closed.is_set()


async def test_a_request_cancelled_within_its_opening_window_stops_the_model_call():
    host = ScriptedHost(["never"], first_word=asyncio.Event())
    service = ChatService(Settings(opening_window_seconds=30), host)
    starting = asyncio.get_running_loop().create_task(
        service.stream("application/json", _json(question("hi")))
    )
    await host.asked.wait()

    starting.cancel()  # what a host may do when the client leaves before the first line
    await asyncio.wait((starting,))

    assert starting.cancelled()
    assert host.closed.is_set()


async def test_buffered_stream_status_is_the_outcome_even_after_a_slow_start():
    first_word = asyncio.Event()
    host = ScriptedHost([], fail_at=0, error=model_errors.model_timeout(), first_word=first_word)
    service = _service(host)

    async def answer_later() -> None:
        await asyncio.sleep(0.4)  # past the opening window
        first_word.set()

    asyncio.get_running_loop().create_task(answer_later())
    reply = await service.buffered_stream("application/json", _json(question("hi")))

    assert reply.status == 504
    assert orjson.loads(reply.body)["error"]["code"] == "model_timeout"


async def test_a_temperature_for_a_reasoning_model_is_a_400_before_any_model_call():
    host = ScriptedHost(["never"])
    host.reasoning = True
    body = question("Be creative")
    body["context"]["overrides"]["temperature"] = 0.9

    reply = await _service(host).stream("application/json", _json(body))

    assert reply.status == 400
    error = orjson.loads(reply.body)["error"]
    assert error["code"] == "invalid_request"
    assert "temperature" in error["message"]
    assert host.prompts == []


def test_a_temperature_for_another_model_is_accepted():
    body = question("Be creative")
    body["context"]["overrides"]["temperature"] = 0.9

    request = _service(ScriptedHost([])).parse("application/json", _json(body))

    assert request.context.overrides.temperature == 0.9


def test_health_says_only_what_a_visitor_may_know():
    from chat_api.hosts.offline import OfflineHost
    from chat_api.protocol import Health

    settings = Settings(
        model_host="azure",
        azure_openai_endpoint="https://internal-openai.example.net",
        azure_openai_api_key="model-key-value",
        azure_client_id="identity-client-id",
        azure_search_endpoint="https://internal-search.example.net",
        azure_search_api_key="search-key-value",
        allowed_origins=("https://page.example.net",),
    )
    reply = ChatService(settings, OfflineHost()).health()

    body = orjson.loads(reply.body)
    assert set(body) == set(Health.model_fields)
    for private in ("internal-", "key-value", "identity-client-id", "page.example.net"):
        assert private not in reply.body.decode()
