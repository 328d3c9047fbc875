"""Keyless sign-in that fails (no managed identity, a wrong AZURE_CLIENT_ID) is a 503 with one
log line saying what to fix, and the credential chain is not walked again on every request.
DefaultAzureCredential signs in against a stand-in managed identity endpoint on loopback."""

from __future__ import annotations

import logging

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from chat_api.credentials import RememberingCredential
from chat_api.errors import ChatError, Code
from chat_api.prompt import Prompt
from chat_api.protocol import Message
from chat_api.retrieval.azure_search import create_retriever
from chat_api.settings import Settings
from tests.support.standin_identity import TOKEN, StandInIdentity


@pytest.fixture
async def identity(monkeypatch):
    standin = StandInIdentity(client_id="the-apps-identity")
    server = await standin.start(monkeypatch)
    yield standin
    await server.close()


def _azure(mock_model, client_id: str) -> Settings:
    return Settings(
        model_host="azure",
        azure_openai_endpoint=mock_model.url,
        azure_openai_chat_deployment="chat",
        azure_client_id=client_id,
        model_retry_seconds=0.1,
    )


def _prompt() -> Prompt:
    return Prompt(messages=[{"role": "user", "content": "hi"}], question="hi")


async def _answer(host) -> list:
    return [event async for event in host.stream_answer(_prompt())]


async def _failure(call) -> tuple[int, str]:
    with pytest.raises(ChatError) as caught:
        await call
    return caught.value.status, caught.value.code


async def test_the_apps_identity_signs_in_and_its_token_reaches_the_model(
    opened, mock_model, identity
):
    host = opened.host(_azure(mock_model, "the-apps-identity"))

    await _answer(host)
    await host.aclose()

    assert mock_model.headers[-1]["authorization"] == f"Bearer {TOKEN}"
    assert identity.requests[-1]["client_id"] == "the-apps-identity"
    assert identity.requests[-1]["resource"] == "https://cognitiveservices.azure.com"


async def test_a_wrong_client_id_is_a_503_logged_once_and_not_retried_per_request(
    opened, mock_model, identity, caplog
):
    host = opened.host(_azure(mock_model, "a-wrong-client-id"))
    caplog.set_level(logging.INFO)

    failures = [await _failure(_answer(host))]
    walked = len(identity.requests)
    failures.append(await _failure(_answer(host)))
    failures.append(await _failure(host.generate_query([Message(role="user", content="hi")])))
    await host.aclose()

    assert failures == [(503, Code.MODEL_UNAVAILABLE)] * 3
    assert walked > 0
    assert len(identity.requests) == walked  # only the first request asked the endpoint
    assert mock_model.requests == []
    ours = [r for r in caplog.records if r.name.startswith("chat_api")]
    assert [r.levelno for r in ours] == [logging.ERROR]
    assert "AZURE_CLIENT_ID" in ours[0].getMessage()
    assert "127.0.0.1" not in ours[0].getMessage()


async def test_search_without_a_token_is_search_unavailable_and_asks_once(identity, caplog):
    settings = Settings(
        retrieval="azure",
        azure_search_endpoint="https://127.0.0.1:9",  # never reached: no token, no request
        azure_client_id="a-wrong-client-id",
        search_timeout_seconds=5,
    )
    retriever = create_retriever(settings, None)
    caplog.set_level(logging.WARNING)

    failures = [await _failure(retriever.search("anything", top=3))]
    walked = len(identity.requests)
    failures.append(await _failure(retriever.search("anything", top=3)))
    await retriever.aclose()

    assert failures == [(503, Code.SEARCH_UNAVAILABLE)] * 2
    assert walked > 0
    assert len(identity.requests) == walked
    ours = [r for r in caplog.records if r.name.startswith("chat_api")]
    assert [r.levelno for r in ours] == [logging.ERROR]


class CountingCredential:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = True

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.calls += 1
        if self.fail:
            raise ClientAuthenticationError("no identity")
        return AccessToken("t", 9_999_999_999)

    async def close(self) -> None:
        return None


async def test_the_credential_is_tried_again_once_the_pause_is_over():
    now = [0.0]
    inner = CountingCredential()
    credential = RememberingCredential(inner, "a service", pause_seconds=60, clock=lambda: now[0])

    for at in (0.0, 30.0, 59.0):
        now[0] = at
        with pytest.raises(ClientAuthenticationError):
            await credential.get_token("scope")
    assert inner.calls == 1

    now[0] = 61.0
    inner.fail = False
    assert (await credential.get_token("scope")).token == "t"
    assert inner.calls == 2
