"""`make run` serves the widget's files to pages of any origin, and the API only to the origins
it lists: a page elsewhere can load the module but not talk to the API unless allowed."""

from __future__ import annotations

import httpx
import pytest

LISTED = "http://docs.example.test"
STRANGER = "http://elsewhere.example.test"


@pytest.fixture(scope="module")
def app(start_app):
    with start_app({"ALLOWED_ORIGINS": LISTED}) as server:
        yield server


@pytest.mark.parametrize("path", ["/chat-widget.js", "/config.json"])
@pytest.mark.parametrize("origin", [LISTED, STRANGER])
def test_the_widget_and_its_config_are_served_to_any_origin(app, path, origin):
    response = httpx.get(app.url + path, headers={"Origin": origin}, timeout=10)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", origin)


def test_the_widget_is_a_javascript_module(app):
    response = httpx.get(app.url + "/chat-widget.js", timeout=10)

    assert response.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert "customElements.define" in response.text


def test_the_api_grants_a_listed_origin_and_no_other(app):
    listed = httpx.get(app.url + "/api/health", headers={"Origin": LISTED}, timeout=10)
    stranger = httpx.get(app.url + "/api/health", headers={"Origin": STRANGER}, timeout=10)

    assert listed.headers["access-control-allow-origin"] == LISTED
    assert "access-control-allow-origin" not in stranger.headers


def test_the_page_itself_gets_no_cross_origin_grant(app):
    response = httpx.get(app.url + "/", headers={"Origin": STRANGER}, timeout=10)

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_the_demo_site_embeds_the_widget_with_one_line(app):
    response = httpx.get(app.url + "/demo/", timeout=10)

    assert response.status_code == 200
    assert '<script type="module" src="/chat-widget.js"></script>' in response.text
