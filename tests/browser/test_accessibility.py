"""Accessibility: axe-core finds nothing serious; keyboard use; a phone-sized screen."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import AXE
from tests.support.page import ask, open_page, wait_until_answered

pytestmark = pytest.mark.browser

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
  }));
}"""


def axe_violations(page: Page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=AXE.read_text())
    return page.evaluate(RUN_AXE)


def assert_nothing_serious(page: Page, artifacts, name: str) -> None:
    violations = axe_violations(page)
    (artifacts / f"axe-{name}.json").write_text(json.dumps(violations, indent=2) + "\n")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, indent=2)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(offline_app_server, app_server, page, artifacts, scheme):
    page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
    open_page(page, offline_app_server.url)
    assert_nothing_serious(page, artifacts, f"{scheme}-empty")
    # An answer with steps and sources, its steps open.
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    answer.locator("details.steps summary").click()
    assert_nothing_serious(page, artifacts, f"{scheme}-sources")
    page.screenshot(path=artifacts / f"sources-{scheme}.png")

    # A stopped answer, a cut one and an error, on the app with a model.
    open_page(page, app_server.url)
    answer = ask(page, "Long story #slow")
    expect(answer.locator(".msg-text")).to_contain_text("word1")
    page.get_by_test_id("stop").click()
    wait_until_answered(page, ask(page, "More #cut"))
    wait_until_answered(page, ask(page, "Busy? #429"))
    assert_nothing_serious(page, artifacts, f"{scheme}-errors")
    page.screenshot(path=artifacts / f"errors-{scheme}.png")


def test_keyboard_alone_drives_the_page(app_server, page):
    open_page(page, app_server.url)
    box = page.get_by_test_id("chat-input")

    # Tab reaches the controls and the question box, and focus is visible.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the question box")).to_be_focused()
    page.keyboard.press("Enter")
    expect(box).to_be_focused()
    page.keyboard.press("Shift+Tab")
    new_chat = page.get_by_role("button", name="New chat")
    expect(new_chat).to_be_focused()
    assert new_chat.evaluate("(el) => getComputedStyle(el).outlineStyle") != "none"

    # Enter sends, Shift+Enter adds a line.
    box.focus()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    assert box.input_value() == "first line\nsecond line"
    expect(page.get_by_test_id("message-user")).to_have_count(0)
    page.keyboard.press("Enter")
    question = page.get_by_test_id("message-user").locator(".msg-text")
    expect(question).to_have_text("first line\nsecond line", use_inner_text=True)
    wait_until_answered(page, page.get_by_test_id("message-assistant").last)
    expect(box).to_have_value("")
    expect(box).to_be_focused()

    # Escape stops an answer.
    page.keyboard.type("a long one #slow")
    page.keyboard.press("Enter")
    answer = page.get_by_test_id("message-assistant").last
    expect(answer.locator(".msg-text")).to_contain_text("word1")
    page.keyboard.press("Escape")
    expect(answer.locator(".mark-stopped")).to_be_visible()
    expect(box).to_be_focused()


def test_usable_on_a_phone_sized_screen(chromium, offline_app_server, artifacts):
    context = chromium.new_context(
        viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        open_page(page, offline_app_server.url)
        answer = wait_until_answered(page, ask(page, "How do I run the app?"))
        expect(answer.get_by_test_id("citation").first).to_be_visible()
        expect(page.get_by_test_id("send")).to_be_in_viewport()
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways: {width}"
        page.screenshot(path=artifacts / "phone.png")
    finally:
        context.close()
