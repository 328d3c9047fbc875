"""The chat page with a reasoning model behind the Responses API: its thinking shows live in the
steps list, folds away when the answer starts, and never becomes part of the answer or the
history sent back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.ndjson import answer_text, parse_lines
from tests.support.page import answer_body, ask, open_page, wait_until_answered

pytestmark = pytest.mark.browser

# The stand-in thinks in about 35 tokens, then answers in 20 (80 with #slow): a cap of 60 lets
# an ordinary answer finish and cuts a #slow one.
REASONING_APP = {
    "OPENAI_API_STYLE": "responses",
    "OPENAI_CHAT_MODEL": "gpt-5.4-mini",
    "CHAT_REASONING_EFFORT": "low",
    "CHAT_MAX_OUTPUT_TOKENS": "60",
    "CHAT_MODEL_TIMEOUT_SECONDS": "10",
}


@pytest.fixture(scope="module")
def reasoning_app(start_app):
    with start_app(REASONING_APP) as server:
        yield server


def test_the_thinking_shows_live_before_the_answer(reasoning_app, model_server, page, artifacts):
    model_server.reset()
    open_page(page, reasoning_app.url)
    # #lockstep: the stand-in sends each piece of its thinking only once released. Two releases:
    # its first three pieces, "**Reading the question**", then nothing until the next.
    model_server.release()
    model_server.release()
    answer = ask(page, "Why is the sky blue? #lockstep")

    thought = answer.locator(".step-thinking .step-detail").first
    expect(thought).to_contain_text("Reading the question")
    shown = len(thought.text_content() or "")
    expect(answer.locator("details.steps")).to_have_attribute("open", "")
    assert (answer_body(answer).text_content() or "") == ""  # no word of the answer yet
    # It grows as the model thinks on.
    model_server.release()
    page.wait_for_function(
        "([el, n]) => el.textContent.length > n", arg=[thought.element_handle(), shown]
    )
    page.screenshot(path=artifacts / "thinking-live.png")


def test_the_steps_fold_away_once_the_answer_starts(reasoning_app, page):
    open_page(page, reasoning_app.url)
    answer = ask(page, "Why is the sky blue? #slow")

    expect(answer_body(answer)).not_to_be_empty()
    expect(answer.locator("details.steps")).not_to_have_attribute("open", "")
    wait_until_answered(page, answer)
    thoughts = answer.locator(".step-thinking")
    expect(thoughts).to_have_count(2)
    expect(thoughts.nth(1).locator(".thought-heading")).to_have_text("Planning the answer")
    expect(thoughts.nth(1)).not_to_contain_text("**")


def test_a_cut_answer_says_so(reasoning_app, page):
    open_page(page, reasoning_app.url)

    answer = wait_until_answered(page, ask(page, "A long one, please #slow"))

    expect(answer.locator(".mark-length")).to_contain_text("cut off")
    expect(answer.get_by_test_id("error")).to_have_count(0)


def test_the_thinking_never_enters_the_answer_or_the_history(reasoning_app, model_server, page):
    open_page(page, reasoning_app.url)
    first = wait_until_answered(page, ask(page, "First question"))
    shown = answer_body(first).text_content() or ""

    wait_until_answered(page, ask(page, "Second question"))

    assert "Reading the question" not in shown
    sent = model_server.stats()["last_request"]["input"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == answer_text(
        parse_lines(page.evaluate("() => window.__streams[0].text"))
    )
    assert "Reading the question" not in sent[1]["content"]
