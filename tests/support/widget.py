"""What the browser tests do with the widget on a host page: open the page, open the panel."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def open_host_page(page: Page, url: str) -> Page:
    """Opens a host page and waits until the widget has asked the service how it runs."""
    page.goto(url)
    page.wait_for_selector("chat-assistant[data-ready]", state="attached")
    return page


def open_panel(page: Page) -> Locator:
    page.get_by_test_id("launcher").click()
    panel = page.get_by_test_id("panel")
    expect(panel).to_be_visible()
    return panel
