"""The app as a process sends its telemetry through the Azure Monitor distro, authenticated by
its managed identity, to stand-ins for Application Insights ingestion and the identity endpoint
on loopback: what the deployment does in Azure, where local authentication is off."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from standins import processes
from standins.appinsights import IDENTITY_HEADER, TOKEN, AppInsights, app_insights
from standins.processes import AppServer, ModelServer
from standins.waiting import wait_until
from tests.conftest import model_env
from tests.support.ndjson import question
from tests.support.polling import wait_for

CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def monitored_app(
    model_server: ModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppServer, AppInsights]]:
    with app_insights(tmp_path_factory.mktemp("appinsights")) as sink:
        env = {
            **model_env(model_server),
            **sink.app_env(),
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"ClientId={CLIENT_ID};Authorization=AAD",
            # The managed identity endpoint as Azure Functions provides it.
            "IDENTITY_ENDPOINT": sink.identity_url,
            "IDENTITY_HEADER": IDENTITY_HEADER,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
        }
        with processes.app_server(env) as app:
            # The first export waits for the first token; what is exported meanwhile is kept on
            # disk and retried minutes later. Warm up, an answer at a time, until ingestion has
            # accepted one.
            def warmed_up() -> bool:
                httpx.post(app.url + "/api/chat/stream", json=question("Warm up"), timeout=30)
                return wait_until(lambda: bool(sink.received("Request")), timeout=2)

            assert wait_until(warmed_up), "ingestion never accepted an answer's telemetry"
            yield app, sink


def test_an_answer_arrives_as_a_request_with_its_model_call_as_a_dependency(monitored_app):
    app, sink = monitored_app
    operation = "6e0c63257de34c92bf9efcd03927272e"
    headers = {"traceparent": f"00-{operation}-00f067aa0ba902b7-01"}

    response = httpx.post(
        app.url + "/api/chat/stream", json=question("Watched?"), headers=headers, timeout=30
    )

    assert response.status_code == 200
    (request,) = wait_for(
        lambda: [r for r in sink.received("Request") if r["tags"]["ai.operation.id"] == operation]
    )
    properties = request["data"]["baseData"]["properties"]
    assert properties["chat.outcome"] == "complete"
    assert request["data"]["baseData"]["responseCode"] == "200"
    dependencies = wait_for(
        lambda: [
            d
            for d in sink.received("RemoteDependency")
            if d["tags"]["ai.operation.id"] == operation
        ]
    )
    model = httpx.get(app.url + "/api/health", timeout=10).json()["model"]
    assert dependencies[0]["data"]["baseData"]["name"] == f"chat {model}"
    assert operation.startswith(properties["chat.ref"])


def test_ingestion_is_authenticated_by_the_apps_managed_identity(monitored_app):
    app, sink = monitored_app
    httpx.post(app.url + "/api/chat/stream", json=question("Who sends this?"), timeout=30)
    wait_for(lambda: sink.authorizations)

    assert set(sink.authorizations) == {f"Bearer {TOKEN}"}
    (token_request, *_) = sink.token_requests
    assert token_request["client_id"] == CLIENT_ID
    assert token_request["resource"].startswith("https://monitor.azure.com")
    assert token_request["header"] == IDENTITY_HEADER


def test_the_metrics_arrive_as_custom_metrics(monitored_app):
    app, sink = monitored_app
    httpx.post(app.url + "/api/chat/stream", json=question("Counted?"), timeout=30)

    expected = {"chat.answers", "chat.tokens"}

    def names() -> set[str]:
        return {m["data"]["baseData"]["metrics"][0]["name"] for m in sink.received("Metric")}

    # Each export carries what was recorded by then: wait for every name, not for the first.
    assert expected <= wait_for(lambda: names() if expected <= names() else None)
