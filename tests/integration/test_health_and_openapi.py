"""GET /api/health and GET /api/openapi.json."""

from __future__ import annotations

import httpx


def test_health_reports_mode_streaming_host_and_retrieval(app_server):
    response = httpx.get(app_server.url + "/api/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "mode": "model",
        "streaming": True,
        "model_host": "openai",
        "model": "llama3.1",
        "retrieval": "off",
    }


def test_in_azure_health_says_only_that_it_is_up_and_whether_it_streams(start_app):
    # App Service sets WEBSITE_INSTANCE_ID on every instance.
    with start_app({"WEBSITE_INSTANCE_ID": "0123456789abcdef"}) as app:
        response = httpx.get(app.url + "/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "streaming": True}


def test_health_never_carries_a_secret(app_server):
    assert "test-key" not in httpx.get(app_server.url + "/api/health").text


def test_openapi_document_lists_every_route_with_schemas(app_server):
    doc = httpx.get(app_server.url + "/api/openapi.json").json()

    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/api/chat/stream",
        "/api/chat",
        "/api/feedback",
        "/api/health",
        "/api/openapi.json",
    }
    stream = doc["paths"]["/api/chat/stream"]["post"]
    assert stream["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatRequest"
    }
    assert "application/x-ndjson" in stream["responses"]["200"]["content"]
    assert {"400", "413", "415", "429", "502"} <= set(stream["responses"])
    schemas = doc["components"]["schemas"]
    assert {"ChatRequest", "Completion", "StreamLine", "ErrorBody", "Overrides"} <= set(schemas)
    assert set(schemas["Overrides"]["properties"]) >= {"retrieval", "top", "temperature"}
    feedback = doc["paths"]["/api/feedback"]["post"]
    assert feedback["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FeedbackRequest"
    }
    assert {"204", "400", "429"} <= set(feedback["responses"])
    assert set(schemas["FeedbackRequest"]["properties"]) == {
        "answer_id",
        "rating",
        "comment",
        "page",
    }
