"""Model output is untrusted: nothing in an answer runs, and the page keeps to its own CSP."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import ROOT
from tests.support.page import answer_body, ask, open_page, wait_until_answered

pytestmark = pytest.mark.browser

ATTRIBUTES_IN_ANSWERS = """() => [
  ...document.querySelector('chat-assistant').shadowRoot
    .querySelectorAll('[data-testid="message-assistant"] *'),
].flatMap((el) => [...el.attributes].map((a) => [el.tagName.toLowerCase(), a.name, a.value]))"""


def script_hrefs(hrefs: list[str]) -> list[str]:
    squeezed = (re.sub(r"[\s\x00-\x1f]", "", h).lower() for h in hrefs)
    return [h for h in squeezed if h.startswith(("javascript:", "vbscript:", "data:"))]


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "buffered"])
def test_script_in_an_answer_runs_nothing(app_server, page, streaming):
    open_page(page, app_server.url)
    page.get_by_test_id("streaming-toggle").set_checked(streaming)
    answer = wait_until_answered(page, ask(page, "Show me something nasty #xss"))
    body = answer_body(answer)
    expect(body).to_contain_text("done.")

    # Shown as text, never interpreted: no element, handler or script address survives.
    expect(body).to_contain_text("<script>window.__xss=1</script>")
    # (The answer's own buttons, outside its text, carry icons.)
    dangerous = ":is(script, img, iframe, object, embed, svg, style):not(.msg-actions *)"
    assert answer.locator(dangerous).count() == 0
    attributes = page.evaluate(ATTRIBUTES_IN_ANSWERS)
    assert not [a for a in attributes if a[1].startswith("on") or a[1] in ("style", "srcdoc")]
    hrefs = page.evaluate(
        "(host) => [...host.shadowRoot.querySelectorAll('a')]"
        ".map((a) => a.getAttribute('href') || '')",
        page.locator("chat-assistant").element_handle(),
    )
    assert script_hrefs(hrefs) == []

    # The link text stays, without an address; clicking it does nothing either.
    answer.get_by_text("click", exact=True).click()
    page.wait_for_timeout(100)
    assert page.evaluate("() => typeof window.__xss") == "undefined"


def test_markdown_renders_with_safe_links(app_server, page):
    open_page(page, app_server.url)
    answer = wait_until_answered(page, ask(page, "Format this #markdown"))
    body = answer_body(answer)
    expect(body.get_by_role("heading", name="Streaming")).to_be_visible()
    expect(body.locator("li")).to_have_count(3)
    expect(body.locator("pre code")).to_contain_text("print('hello')")
    link = body.get_by_role("link", name="the spec")
    expect(link).to_have_attribute("href", "https://example.org/ndjson")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b.*\bnoreferrer\b"))


def test_page_works_under_its_content_security_policy(app_server, page):
    config = json.loads((ROOT / "static_web" / "staticwebapp.template.json").read_text())
    policy = config["globalHeaders"]["Content-Security-Policy"]

    def with_policy(route: Route) -> None:
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    # Serve the page with the headers Static Web Apps would add, and watch for anything blocked.
    page.route(re.compile(r"^[^?]*/(index\.html)?$"), with_policy)
    page.add_init_script(
        """window.__blocked = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          window.__blocked.push(e.violatedDirective + ' ' + e.blockedURI);
        });"""
    )
    open_page(page, app_server.url)
    answer = wait_until_answered(page, ask(page, "Format this #markdown"))
    expect(answer_body(answer).locator("pre code")).to_be_visible()
    answer = wait_until_answered(page, ask(page, "And this #xss"))
    expect(answer_body(answer)).to_contain_text("done.")
    assert page.evaluate("() => window.__blocked") == []
    assert page.evaluate("() => typeof window.__xss") == "undefined"


def test_an_api_address_in_clear_text_to_another_machine_is_refused(app_server, page):
    page.route(
        "**/config.json",
        lambda route: route.fulfill(json={"apiBaseUrl": "http://api.example.invalid"}),
    )
    asked_elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            asked_elsewhere.append(request.url) if "example.invalid" in request.url else None
        ),
    )

    open_page(page, app_server.url)
    expect(page.locator("#service-status")).to_contain_text("not secure")
    wait_until_answered(page, ask(page, "Hello?"))

    assert asked_elsewhere == []
