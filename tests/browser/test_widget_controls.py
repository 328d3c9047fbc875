"""Opening and closing the widget: the shortcut, Escape, the site's own search button, the
element's methods and events; by keyboard alone on a phone; axe in both themes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_accessibility import assert_nothing_serious
from tests.support.host_site import page as host_page
from tests.support.page import ask, wait_until_answered
from tests.support.widget import open_host_page, open_panel

pytestmark = pytest.mark.browser

SEARCH = '<p>Docs text.</p><button type="button" id="search">Search</button>'


def serve(host, app, name: str, element: str = "") -> str:
    return host.serve(
        f"/{name}.html",
        host_page(name.title(), widget=app.url + "/chat-widget.js", body=SEARCH, element=element),
    )


def test_ctrl_k_opens_it_and_escape_closes_it_returning_focus(widget_app, host, page):
    open_host_page(page, serve(host, widget_app, "shortcut"))
    search = page.locator("#search")
    search.focus()

    page.keyboard.press("Control+k")
    expect(page.get_by_test_id("panel")).to_be_visible()
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    expect(page.get_by_test_id("launcher")).to_have_attribute("aria-expanded", "true")

    page.keyboard.press("Escape")
    expect(page.get_by_test_id("panel")).to_be_hidden()
    expect(search).to_be_focused()


def test_the_shortcut_can_be_changed_or_turned_off(widget_app, host, page):
    open_host_page(page, serve(host, widget_app, "alt-j", '<chat-assistant shortcut="alt+j">'))
    page.keyboard.press("Control+k")
    expect(page.get_by_test_id("panel")).to_be_hidden()
    page.keyboard.press("Alt+j")
    expect(page.get_by_test_id("panel")).to_be_visible()

    open_host_page(page, serve(host, widget_app, "no-key", '<chat-assistant shortcut="none">'))
    page.get_by_test_id("panel").evaluate("(panel) => panel.getRootNode().host.close()")
    page.keyboard.press("Control+k")
    expect(page.get_by_test_id("panel")).to_be_hidden()


def test_the_sites_own_search_button_opens_it(widget_app, host, page):
    element = '<chat-assistant attach="#search" title="Ask Example"></chat-assistant>'
    open_host_page(page, serve(host, widget_app, "attach", element))
    expect(page.get_by_test_id("launcher")).to_have_text("Ask Example")

    page.locator("#search").click()
    expect(page.get_by_test_id("panel")).to_be_visible()
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#search")).to_be_focused()


def test_methods_open_ask_and_close_and_their_events(widget_app, host, page):
    open_host_page(page, serve(host, widget_app, "methods"))
    page.evaluate(
        """() => {
          window.__events = [];
          for (const name of ['chat-open', 'chat-close', 'chat-answer']) {
            document.addEventListener(name, (e) => window.__events.push([name, e.detail]));
          }
        }"""
    )
    chat = page.locator("chat-assistant")

    chat.evaluate("(el) => el.open()")
    expect(page.get_by_test_id("panel")).to_be_visible()
    chat.evaluate("(el) => el.ask('How do I run the app?')")
    answer = wait_until_answered(page, page.get_by_test_id("message-assistant").first)
    expect(page.get_by_test_id("message-user").locator(".msg-text")).to_have_text(
        "How do I run the app?"
    )
    expect(answer.get_by_test_id("citation").first).to_be_visible()
    chat.evaluate("(el) => el.close()")
    expect(page.get_by_test_id("panel")).to_be_hidden()

    events = page.evaluate("() => window.__events")
    assert [name for name, _ in events] == ["chat-open", "chat-answer", "chat-close"]
    assert set(events[1][1]) == {"answer_id"}


def test_keyboard_alone_on_a_phone_sized_screen(chromium: Browser, widget_app, host, artifacts):
    context = chromium.new_context(
        viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        open_host_page(page, serve(host, widget_app, "phone"))
        launcher = page.get_by_test_id("launcher")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # past the site's own button, to the launcher
        expect(launcher).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("chat-input")).to_be_focused()
        page.keyboard.type("How do I run the app?")
        page.keyboard.press("Enter")
        answer = wait_until_answered(page, page.get_by_test_id("message-assistant").first)
        expect(answer.locator(".msg-text")).to_be_in_viewport()

        panel = page.get_by_test_id("panel").bounding_box()
        assert panel
        assert panel["x"] >= 0
        assert panel["x"] + panel["width"] <= 360
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        page.screenshot(path=artifacts / "widget-phone.png")

        page.keyboard.press("Escape")
        expect(page.get_by_test_id("panel")).to_be_hidden()
        expect(launcher).to_be_focused()
    finally:
        context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_nothing_serious_in_the_launcher_and_the_panel(
    widget_app, host, page, artifacts, theme
):
    page.emulate_media(reduced_motion="reduce")
    element = f'<chat-assistant theme="{theme}"></chat-assistant>'
    open_host_page(page, serve(host, widget_app, f"axe-{theme}", element))
    assert_nothing_serious(page, artifacts, f"widget-{theme}-closed")

    open_panel(page)
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    answer.locator("details.steps summary").click()
    assert_nothing_serious(page, artifacts, f"widget-{theme}-answer")
    page.screenshot(path=artifacts / f"widget-{theme}.png")


BACKGROUND = "(host) => getComputedStyle(host.shadowRoot.querySelector('.panel')).backgroundColor"


def test_the_theme_follows_the_visitors_preference_unless_the_attribute_says(
    widget_app, host, page
):
    page.emulate_media(color_scheme="dark")
    open_host_page(page, serve(host, widget_app, "themes"))
    open_panel(page)
    chat = page.locator("chat-assistant")
    dark = chat.evaluate(BACKGROUND)

    chat.evaluate("(el) => el.setAttribute('theme', 'light')")
    light = chat.evaluate(BACKGROUND)
    page.emulate_media(color_scheme="light")
    chat.evaluate("(el) => el.setAttribute('theme', 'dark')")

    assert dark == chat.evaluate(BACKGROUND) == "rgb(20, 22, 27)"
    assert light == "rgb(255, 255, 255)"


def test_the_owner_words_its_title_placeholder_and_welcome(widget_app, host, page):
    element = (
        '<chat-assistant title="Ask Example" placeholder="Your question about Example"'
        ' welcome="Ask anything about Example."></chat-assistant>'
    )
    open_host_page(page, serve(host, widget_app, "words", element))
    expect(page.get_by_test_id("launcher")).to_have_text("Ask Example")
    panel = open_panel(page)

    expect(page.get_by_role("dialog", name="Ask Example")).to_be_visible()
    expect(page.get_by_test_id("chat-input")).to_have_attribute(
        "placeholder", "Your question about Example"
    )
    expect(panel).to_contain_text("Ask anything about Example.")
