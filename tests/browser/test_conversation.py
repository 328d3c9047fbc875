"""The conversation survives a reload; New chat empties it; history goes to the API."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ask, normalise, open_page, wait_until_answered

pytestmark = pytest.mark.browser

MESSAGES = "[data-testid=message-user], [data-testid=message-assistant]"


def test_conversation_survives_reload_and_new_chat_clears_it(app_server, page):
    open_page(page, app_server.url)
    wait_until_answered(page, ask(page, "First question"))
    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as second:
        answer = ask(page, "Second question")
    wait_until_answered(page, answer)

    # Earlier turns go along, role and content only, ending with the question.
    sent = second.value.post_data_json
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][0] == {"role": "user", "content": "First question"}
    assert sent["messages"][1]["content"].startswith("Answer to: First question.")
    assert sent["context"] == {"overrides": {}}
    assert sent["sessionState"] is None

    before = [normalise(t) for t in page.locator(MESSAGES).all_inner_texts()]
    assert len(before) == 4
    page.reload()
    page.wait_for_selector("html[data-ready]")
    # Rendered again in one go from what was saved: the same as it was when streamed.
    after = [normalise(t) for t in page.locator(MESSAGES).all_inner_texts()]
    assert after == before

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
