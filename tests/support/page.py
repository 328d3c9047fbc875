"""What the browser tests do with the chat page: open it, ask, wait for the answer, read it.
Shared by every browser test; the fixtures that launch Chromium are in tests/browser/conftest.py."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


def open_page(page: Page, url: str) -> Page:
    page.goto(url + "/")
    page.wait_for_selector("html[data-ready]")
    return page


def ask(page: Page, question: str) -> Locator:
    """Types a question, sends it, and returns the answer it starts."""
    before = page.get_by_test_id("message-assistant").count()
    page.get_by_test_id("chat-input").fill(question)
    page.get_by_test_id("send").click()
    answer = page.get_by_test_id("message-assistant").nth(before)
    expect(answer).to_be_attached()
    return answer


def wait_until_answered(page: Page, answer: Locator) -> Locator:
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("send")).to_be_visible()
    return answer


def answer_body(answer: Locator) -> Locator:
    return answer.locator(".msg-text")


def last_stream_body(page: Page) -> str:
    """The body of the last streamed answer, once it has been received completely."""
    page.wait_for_function("() => window.__streams.length && window.__streams.at(-1).done")
    return str(page.evaluate("() => window.__streams.at(-1).text"))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
