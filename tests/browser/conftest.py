"""Headless Chromium for the chat page tests, driven by Playwright against the real app."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from standins import processes
from standins.processes import AppServer
from tests.support.host_site import HostSite, host_site

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "static_web" / "dist"
AXE = ROOT / "static_web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"

# Quiet, sandbox-free headless Chromium: no background traffic, no component downloads.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Generous for a loaded machine; nothing in these tests waits for it unless something is wrong.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


def chromium_path() -> str | None:
    """CHROMIUM_PATH, else the system Chromium, else None (Playwright's own download)."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Package scope: Playwright's sync API holds an event loop open on this thread while it runs, so
# it must be gone before the async tests elsewhere in the suite start their own loops.
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def chromium(playwright_instance: Playwright) -> Iterator[Browser]:
    if not (DIST / "index.html").is_file():
        pytest.fail("static_web/dist is missing: build the page first (make web)")
    browser = playwright_instance.chromium.launch(
        executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True
    )
    yield browser
    browser.close()


# Keeps a copy of every streamed answer body, as the page received it, for the tests to compare.
RECORD_STREAMS = """(() => {
  const streams = [];
  window.__streams = streams;
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await realFetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/api/chat/stream') && response.body) {
      const entry = { url, done: false, text: '' };
      streams.push(entry);
      response.clone().text().then(
        (text) => Object.assign(entry, { text, done: true }),
        () => Object.assign(entry, { done: true, failed: true }),
      );
    }
    return response;
  };
})();"""


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context per test (empty local storage), failing on uncaught errors."""
    context = chromium.new_context(viewport={"width": 1100, "height": 850}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_STREAMS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- The widget on other sites ----------------------------------------------------------------


@pytest.fixture(scope="package")
def host() -> Iterator[HostSite]:
    """A site on another origin that the app lists in ALLOWED_ORIGINS."""
    with host_site() as site:
        yield site


@pytest.fixture(scope="package")
def stranger() -> Iterator[HostSite]:
    """A site on another origin that the app does not list."""
    with host_site() as site:
        yield site


@pytest.fixture(scope="package")
def widget_app(host: HostSite) -> Iterator[AppServer]:
    """The app in offline mode (answers with sources), granting CORS to `host` alone."""
    with processes.app_server({"ALLOWED_ORIGINS": host.origin}) as server:
        yield server
