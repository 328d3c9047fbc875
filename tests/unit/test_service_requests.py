"""The framework-independent API before any model call: a request parsed and validated (within
the limits, its errors saying where but never echoing the input), a temperature only for a model
that takes one, and a health reply that says nothing private."""

from __future__ import annotations

import orjson
import pytest

from chat_api.errors import ChatError
from chat_api.service import ChatService
from chat_api.settings import Settings
from tests.support.ndjson import question
from tests.support.scripted_host import ScriptedHost, json_bytes, scripted_service


def test_parse_accepts_a_conversation_and_its_overrides():
    body = question("third", "first", "second")
    body["context"]["overrides"] = {"retrieval": False, "top": 5}

    request = scripted_service(ScriptedHost([])).parse(
        "application/json; charset=utf-8", json_bytes(body)
    )

    assert [m.content for m in request.messages] == ["first", "second", "third"]
    assert request.context.overrides.retrieval is False
    assert request.context.overrides.top == 5


def test_parse_ignores_unknown_fields_on_messages():
    body = {"messages": [{"role": "user", "content": "hi", "name": "x", "id": 1}]}

    request = scripted_service(ScriptedHost([])).parse("application/json", json_bytes(body))

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
        scripted_service(ScriptedHost([]), **limits).parse("application/json", json_bytes(body))

    assert caught.value.status == 413


def test_validation_messages_say_where_but_never_echo_the_input():
    body = {"messages": [{"role": "secret-role-value", "content": "hi"}]}

    with pytest.raises(ChatError) as caught:
        scripted_service(ScriptedHost([])).parse("application/json", json_bytes(body))

    assert "messages.0.role" in caught.value.message
    assert "secret-role-value" not in caught.value.message


async def test_a_temperature_for_a_reasoning_model_is_a_400_before_any_model_call():
    host = ScriptedHost(["never"])
    host.reasoning = True
    body = question("Be creative")
    body["context"]["overrides"]["temperature"] = 0.9

    reply = await scripted_service(host).stream("application/json", json_bytes(body))

    assert reply.status == 400
    error = orjson.loads(reply.body)["error"]
    assert error["code"] == "invalid_request"
    assert "temperature" in error["message"]
    assert host.prompts == []


def test_a_temperature_for_another_model_is_accepted():
    body = question("Be creative")
    body["context"]["overrides"]["temperature"] = 0.9

    request = scripted_service(ScriptedHost([])).parse("application/json", json_bytes(body))

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
