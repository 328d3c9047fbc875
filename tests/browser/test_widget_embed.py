"""The widget on a page of another site: the one-line embed, the origins the API serves, a
strict host CSP, and styles that do not cross the shadow boundary either way."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.support.host_site import page as host_page
from tests.support.page import ask, wait_until_answered
from tests.support.widget import open_host_page, open_panel

pytestmark = pytest.mark.browser

HOSTILE_CSS = """
* { all: revert; color: red !important; font-size: 40px !important;
    font-family: serif !important; line-height: 3 !important; letter-spacing: 4px !important;
    background: yellow !important; border: 5px solid green !important; padding: 9px !important; }
html { font-size: 40px !important; }
button, input, textarea { width: 300px !important; }
"""

# What a visitor sees of the widget's parts, as the browser computes it.
WIDGET_LOOK = """(host) => {
  const root = host.shadowRoot;
  const parts = ['.launcher', '.panel', '.title', '#chat-input', '#send', '#new-chat', '.empty h2',
                 '.hint'];
  const props = ['color', 'font-size', 'font-family', 'line-height', 'letter-spacing',
                 'background-color', 'border-top-width', 'padding-top', 'width', 'height'];
  return parts.map((selector) => {
    const style = getComputedStyle(root.querySelector(selector));
    return [selector, ...props.map((p) => style.getPropertyValue(p))];
  });
}"""

# What a visitor sees of the host page's own elements, and where they are.
HOST_LOOK = """() => [...document.querySelectorAll('body, main, h1, p, a, button')].map((el) => {
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return [el.tagName, style.color, style.fontSize, style.fontFamily, style.lineHeight,
          style.backgroundColor, box.x, box.y, box.width, box.height];
})"""

HOST_BODY = '<p>Some text of the site, with <a href="#x">a link</a>.</p><button>Search</button>'


def widget_url(app) -> str:
    return app.url + "/chat-widget.js"


def test_the_one_line_embed_adds_a_launcher_that_opens_the_assistant(widget_app, host, page):
    url = host.serve("/plain.html", host_page("Plain", widget=widget_url(widget_app)))
    open_host_page(page, url)

    launcher = page.get_by_test_id("launcher")
    expect(launcher).to_be_visible()
    expect(page.get_by_test_id("panel")).to_be_hidden()
    box = launcher.bounding_box()
    viewport = page.viewport_size
    assert box
    assert viewport
    assert box["x"] > viewport["width"] / 2  # on the right
    assert box["y"] > viewport["height"] / 2  # at the bottom

    open_panel(page)
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as sent:
        answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    # The API address came from the config.json beside the script: the app's own origin.
    assert sent.value.url == widget_app.url + "/api/chat/stream"
    expect(answer.get_by_test_id("citation").first).to_be_visible()


def test_a_page_of_an_origin_not_allowed_is_refused_and_told_why(widget_app, stranger, page):
    url = stranger.serve("/elsewhere.html", host_page("Elsewhere", widget=widget_url(widget_app)))
    console: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.append(message.text)

    page.on("console", keep)
    open_host_page(page, url)
    panel = open_panel(page)

    expect(panel.locator("#service-status")).to_contain_text("not allowed")
    expect(panel.locator("#service-status")).to_contain_text(stranger.origin)
    assert any("ALLOWED_ORIGINS" in text and stranger.origin in text for text in console)
    answer = wait_until_answered(page, ask(page, "Hello?"))
    expect(answer.get_by_test_id("error")).to_contain_text("not allowed to use the chat service")


def test_the_widget_runs_under_a_host_csp_without_inline_script_or_style(widget_app, host, page):
    policy = (
        f"default-src 'none'; script-src {widget_app.url}; connect-src {widget_app.url}; "
        "style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
    )
    url = host.serve(
        "/strict.html",
        host_page("Strict", widget=widget_url(widget_app), body=HOST_BODY),
        {"Content-Security-Policy": policy},
    )
    page.add_init_script(
        """window.__blocked = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          window.__blocked.push(e.violatedDirective + ' ' + e.blockedURI);
        });"""
    )
    open_host_page(page, url)
    open_panel(page)
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))

    expect(answer.get_by_test_id("citation").first).to_be_visible()
    # Styled as ever: its stylesheet is a constructed one, which the policy does not govern.
    expect(page.get_by_test_id("send")).to_have_css("background-color", "rgb(31, 79, 191)")
    assert page.evaluate("() => window.__blocked") == []


def test_a_hostile_host_stylesheet_does_not_change_the_widget(widget_app, host, page):
    widget = widget_url(widget_app)
    host.serve("/hostile.css", HOSTILE_CSS)
    calm = host.serve("/calm.html", host_page("Calm", widget=widget, body=HOST_BODY))
    hostile = host.serve(
        "/hostile.html",
        host_page(
            "Hostile",
            widget=widget,
            body=HOST_BODY,
            head='<link rel="stylesheet" href="/hostile.css" />',
        ),
    )

    looks = []
    for url in (calm, hostile):
        tab = page.context.new_page()  # a tab of its own: the panel starts closed in each
        open_host_page(tab, url)
        open_panel(tab)
        looks.append(tab.evaluate(WIDGET_LOOK, tab.locator("chat-assistant").element_handle()))
    # The hostile sheet did apply to the host page itself.
    expect(tab.locator("h1")).to_have_css("font-size", "40px")
    assert looks[0] == looks[1]


def test_the_widget_changes_neither_the_look_nor_the_layout_of_the_host_page(
    widget_app, host, page
):
    without = host.serve("/without.html", host_page("Host", widget=None, body=HOST_BODY))
    with_widget = host.serve(
        "/with.html", host_page("Host", widget=widget_url(widget_app), body=HOST_BODY)
    )
    page.goto(without)
    before = page.evaluate(HOST_LOOK)

    page.add_init_script(
        """window.__shifts = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) window.__shifts += entry.value;
        }).observe({ type: 'layout-shift', buffered: true });"""
    )
    open_host_page(page, with_widget)
    expect(page.get_by_test_id("launcher")).to_be_visible()

    assert page.evaluate(HOST_LOOK) == before
    assert page.evaluate("() => window.__shifts") == 0


def test_make_run_serves_a_demo_site_that_embeds_it(widget_app, page: Page):
    open_host_page(page, widget_app.url + "/demo/")
    expect(page.get_by_test_id("launcher")).to_be_visible()
    # The site's own search button opens it too.
    page.locator("#search").click()
    expect(page.get_by_test_id("panel")).to_be_visible()
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    expect(answer.get_by_test_id("citation").first).to_be_visible()


def test_the_api_attribute_wins_over_the_config_beside_the_script(widget_app, host, page):
    element = f'<chat-assistant api="{widget_app.url}/api"></chat-assistant>'
    url = host.serve(
        "/own-api.html", host_page("Own API", widget=widget_url(widget_app), element=element)
    )
    page.route(
        "**/config.json",
        lambda route: route.fulfill(
            json={"apiBaseUrl": "https://api.example.invalid"},
            headers={"Access-Control-Allow-Origin": "*"},
        ),
    )
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    open_host_page(page, url)
    open_panel(page)
    wait_until_answered(page, ask(page, "How do I run the app?"))

    assert widget_app.url + "/api/chat/stream" in asked
    assert [u for u in asked if "example.invalid" in u] == []
