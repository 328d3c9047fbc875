"""The conversation survives a reload; New chat empties it; history goes to the API."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.page import ask, normalise, open_page, wait_until_answered

pytestmark = pytest.mark.browser

MESSAGES = "[data-testid=message-user], [data-testid=message-assistant]"


def _two_turns(page, url: str):
    """Asks two questions; the request that carried the second."""
    open_page(page, url)
    wait_until_answered(page, ask(page, "First question"))
    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as second:
        answer = ask(page, "Second question")
    wait_until_answered(page, answer)
    return second.value


def test_earlier_turns_go_along_with_the_question(app_server, page):
    sent = _two_turns(page, app_server.url).post_data_json

    # Role and content only, ending with the question.
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][0] == {"role": "user", "content": "First question"}
    assert sent["messages"][1]["content"].startswith("Answer to: First question.")
    # With the page it was asked on (here the chat page itself).
    assert sent["context"] == {
        "overrides": {},
        "page": {"url": app_server.url + "/", "title": "Chat"},
    }
    assert sent["sessionState"] is None


def test_the_conversation_survives_a_reload(app_server, page):
    _two_turns(page, app_server.url)
    before = [normalise(t) for t in page.locator(MESSAGES).all_inner_texts()]

    page.reload()
    page.wait_for_selector("html[data-ready]")

    # Rendered again in one go from what was saved: the same as it was when streamed.
    assert len(before) == 4
    assert [normalise(t) for t in page.locator(MESSAGES).all_inner_texts()] == before


def test_new_chat_clears_the_conversation_for_good(app_server, page):
    _two_turns(page, app_server.url)

    page.get_by_role("button", name="New chat").click()

    expect(page.locator(MESSAGES)).to_have_count(0)
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    page.reload()
    page.wait_for_selector("html[data-ready]")
    expect(page.locator(MESSAGES)).to_have_count(0)


def test_a_stopped_answer_stays_marked_after_reload(app_server, page):
    open_page(page, app_server.url)
    answer = ask(page, "Long one #slow")
    expect(answer.locator(".msg-text")).to_contain_text("word1")
    page.keyboard.press("Escape")
    expect(answer.locator(".mark-stopped")).to_be_visible()
    page.reload()
    page.wait_for_selector("html[data-ready]")
    expect(page.get_by_test_id("message-assistant").locator(".mark-stopped")).to_be_visible()
