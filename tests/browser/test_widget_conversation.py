"""The widget's conversation on a host site: it follows the visitor from page to page and
through a reload, says which page each question was asked on, links its sources to their
section, and sends the visitor's thumbs to the API."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.support.host_site import page as host_page
from tests.support.ndjson import answer_text, parse_lines
from tests.support.page import ask, last_stream_body, normalise, wait_until_answered
from tests.support.widget import open_host_page, open_panel

pytestmark = pytest.mark.browser

MESSAGES = "[data-testid=message-user], [data-testid=message-assistant]"


def site(host, app) -> tuple[str, str]:
    """Two linked pages of a host site; their addresses."""
    widget = app.url + "/chat-widget.js"
    first = host.serve(
        "/guide/one.html",
        host_page("Guide one", widget=widget, body='<a href="/guide/two.html">Next page</a>'),
    )
    second = host.serve(
        "/guide/two.html",
        host_page("Guide two", widget=widget, body='<a href="/guide/one.html">Back</a>'),
    )
    return first, second


def shown(page: Page) -> list[str]:
    return [normalise(t) for t in page.locator(MESSAGES).all_inner_texts()]


def end_line(page: Page) -> dict:
    lines = parse_lines(last_stream_body(page))
    return next(line for line in lines if "finish_reason" in line.get("context", {}))


def test_the_conversation_follows_the_visitor_to_another_page_and_through_a_reload(
    widget_app, host, page
):
    first, second = site(host, widget_app)
    open_host_page(page, first)
    open_panel(page)
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    sources = answer.get_by_test_id("citation").count()
    assert sources > 0
    before = shown(page)

    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(second)
    page.wait_for_selector("chat-assistant[data-ready]", state="attached")
    # Open again where the visitor left it, with the answer and its sources.
    expect(page.get_by_test_id("panel")).to_be_visible()
    assert shown(page) == before
    expect(page.get_by_test_id("citation")).to_have_count(sources)

    page.reload()
    page.wait_for_selector("chat-assistant[data-ready]", state="attached")
    assert shown(page) == before

    # Kept in this tab only, and nowhere but this browser.
    assert page.evaluate("() => Object.keys(localStorage)") == []
    assert page.evaluate("() => Object.keys(sessionStorage).length") > 0


def test_new_chat_clears_the_conversation_on_every_page(widget_app, host, page):
    first, second = site(host, widget_app)
    open_host_page(page, first)
    open_panel(page)
    wait_until_answered(page, ask(page, "How do I run the app?"))

    page.get_by_test_id("new-chat").click()
    expect(page.locator(MESSAGES)).to_have_count(0)
    open_host_page(page, second)
    expect(page.get_by_test_id("panel")).to_be_visible()
    expect(page.locator(MESSAGES)).to_have_count(0)


def test_each_question_carries_the_page_it_was_asked_on(widget_app, host, page):
    _, second = site(host, widget_app)
    open_host_page(page, second + "#somewhere")
    open_panel(page)
    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as sent:
        wait_until_answered(page, ask(page, "How do I run the app?"))

    assert sent.value.post_data_json["context"]["page"] == {"url": second, "title": "Guide two"}
    response = sent.value.response()
    assert response
    assert response.status == 200
    assert "finish_reason" in json.dumps(end_line(page))  # the service answered it in full


@pytest.fixture(scope="module")
def model_app(start_app, host):
    """The app answering through the stand-in model, granting CORS to `host`."""
    with start_app({"ALLOWED_ORIGINS": host.origin}) as server:
        yield server


def test_the_model_is_told_the_page_the_visitor_is_reading(model_app, model_server, host, page):
    _, second = site(host, model_app)
    open_host_page(page, second)
    open_panel(page)
    wait_until_answered(page, ask(page, "What is on this page?"))

    messages = model_server.stats()["last_request"]["messages"]
    system = " ".join(str(m["content"]) for m in messages if m["role"] in ("system", "developer"))
    assert second in system
    assert "Guide two" in system


def test_a_source_links_to_its_page_and_section(widget_app, host, page):
    first, _ = site(host, widget_app)
    open_host_page(page, first)
    open_panel(page)
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    link = answer.get_by_test_id("citation").first.get_by_role("link")

    href = link.get_attribute("href") or ""
    # The bundled docs are the service's: on its origin, at the section's anchor.
    assert href.startswith(widget_app.url + "/docs/")
    assert "#" in href
    with page.context.expect_page() as opened:
        link.click()
    opened.value.wait_for_load_state()
    assert opened.value.url == href


def test_thumbs_reach_the_feedback_api_with_the_answers_id(widget_app, host, page):
    first, _ = site(host, widget_app)
    open_host_page(page, first)
    open_panel(page)
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    answer_id = end_line(page)["context"]["answer_id"]

    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as sent:
        answer.get_by_test_id("feedback-down").click()
    assert sent.value.status == 204
    assert sent.value.request.post_data_json == {"answer_id": answer_id, "rating": "down"}
    expect(answer.get_by_test_id("feedback-down")).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_test_id("feedback-up")).to_have_attribute("aria-pressed", "false")

    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as changed:
        answer.get_by_test_id("feedback-up").click()
    assert changed.value.status == 204
    assert changed.value.request.post_data_json == {"answer_id": answer_id, "rating": "up"}


def test_copy_puts_the_answer_on_the_clipboard(widget_app, host, page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host.origin)
    first, _ = site(host, widget_app)
    open_host_page(page, first)
    open_panel(page)
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))

    answer.get_by_test_id("copy").click()
    expect(answer.locator(".action-status")).to_have_text("Copied.")
    # The answer as written (its Markdown), as it came from the service.
    written = answer_text(parse_lines(last_stream_body(page)))
    assert page.evaluate("() => navigator.clipboard.readText()") == written
