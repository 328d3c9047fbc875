"""The chat page against the real app: streaming, steps and sources, stop, the buffered switch."""

from __future__ import annotations

import itertools
import json

import pytest
from playwright.sync_api import Page, expect

from standins.model_answers import answer_words
from standins.waiting import wait_until
from tests.support.ndjson import answer_text, citations, parse_lines, steps
from tests.support.page import (
    answer_body,
    ask,
    last_stream_body,
    normalise,
    open_page,
    wait_until_answered,
)

pytestmark = pytest.mark.browser

# Samples the answer's text length on every animation frame, from before the question is sent.
SAMPLE_EVERY_FRAME = """() => {
  const chat = document.querySelector('chat-assistant').shadowRoot; // the UI's shadow root
  const samples = [];
  const started = performance.now();
  window.__samples = samples;
  window.__sampling = true;
  const sample = () => {
    const answers = chat.querySelectorAll('[data-testid="message-assistant"]');
    const body = answers.length ? answers[answers.length - 1].querySelector('.msg-text') : null;
    samples.push({ t: performance.now() - started, length: body ? body.textContent.length : -1 });
    if (window.__sampling) requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""

REVEAL_STATS = """(answer) => ({
  chunks: Number(answer.dataset.revealChunks),
  frames: Number(answer.dataset.revealFrames),
  maxLagMs: Number(answer.dataset.revealMaxLagMs),
  p95LagMs: Number(answer.dataset.revealP95LagMs),
  boundMs: 250,
})"""


SHOWS_TEXT = """(text) => {
  const chat = document.querySelector('chat-assistant').shadowRoot; // the UI's shadow root
  const answers = chat.querySelectorAll('[data-testid="message-assistant"] .msg-text');
  return answers.length && answers[answers.length - 1].textContent.includes(text);
}"""


def saved_turns(page: Page) -> list[dict]:
    raw = page.evaluate("() => localStorage.getItem('chat.conversation.v1')")
    return json.loads(raw)["turns"] if raw else []


def test_answer_appears_progressively_and_completely(
    app_server, model_server, page, artifacts, record_property
):
    model_server.reset()
    open_page(page, app_server.url)
    page.evaluate(SAMPLE_EVERY_FRAME)
    # The stand-in sends each word only once the page shows the one before, so how the text
    # grows does not depend on how fast this machine is.
    answer = ask(page, "What is NDJSON? #lockstep")
    shown = ""
    for word in answer_words("What is NDJSON? #lockstep", 20):
        shown += word
        # Checked on every frame: the app gives up on a model silent for 5 s (FAST_FAULTS).
        page.wait_for_function(SHOWS_TEXT, arg=shown.strip(), polling="raf")
        model_server.release()
    wait_until_answered(page, answer)
    page.evaluate("() => { window.__sampling = false; }")
    page.screenshot(path=artifacts / "answer-complete.png")

    sent = answer_text(parse_lines(last_stream_body(page)))
    assert sent.startswith("Answer to: What is NDJSON?")

    # The text grew over several frames, never all at once.
    lengths = [s["length"] for s in page.evaluate("() => window.__samples") if s["length"] >= 0]
    growth_frames = sum(1 for a, b in itertools.pairwise(lengths) if b > a)
    assert growth_frames >= 5, lengths
    assert 0 < min(n for n in lengths if n > 0) < lengths[-1] / 2

    # In the end the page shows exactly the streamed text, and keeps it.
    assert normalise(answer_body(answer).inner_text()) == normalise(sent)
    assert saved_turns(page)[-1]["content"] == sent
    assert saved_turns(page)[-1]["status"] == "done"
    expect(answer.get_by_test_id("error")).to_have_count(0)

    # The reveal lag is measured in the page and recorded, not asserted on (timing varies).
    stats = answer.evaluate(REVEAL_STATS)
    assert stats["chunks"] == sent.count(" ") + 1
    record_property("reveal_lag", stats)
    (artifacts / "reveal-lag.json").write_text(json.dumps(stats, indent=2) + "\n")


def test_steps_show_live_and_sources_beside_the_answer(offline_app_server, page):
    open_page(page, offline_app_server.url)
    # Note, for each step as it appears, whether the answer was still being prepared.
    page.evaluate(
        """() => {
          const chat = document.querySelector('chat-assistant').shadowRoot; // the UI's shadow root
          window.__stepStates = [];
          new MutationObserver((records) => {
            for (const record of records) for (const node of record.addedNodes) {
              if (node.nodeType === 1 && node.matches('[data-testid="step"]')) {
                const answer = node.closest('[data-testid="message-assistant"]');
                window.__stepStates.push(answer.getAttribute('aria-busy'));
              }
            }
          }).observe(chat.getElementById('log'), { childList: true, subtree: true });
        }"""
    )
    answer = wait_until_answered(page, ask(page, "How do I run the app?"))
    lines = parse_lines(last_stream_body(page))

    sent_steps = steps(lines)
    assert sent_steps
    assert page.evaluate("() => window.__stepStates") == ["true"] * len(sent_steps)
    shown_steps = answer.get_by_test_id("step")
    expect(shown_steps).to_have_count(len(sent_steps))
    # Collapsed once the answer is complete, open on demand.
    details = answer.locator("details.steps")
    expect(shown_steps.first).to_be_hidden()
    details.locator("summary").click()
    expect(shown_steps.first).to_be_visible()
    expect(shown_steps.first).to_contain_text(sent_steps[0]["title"])

    sent_citations = citations(lines)
    assert sent_citations
    shown = answer.get_by_test_id("citation")
    expect(shown).to_have_count(len(sent_citations))
    for item, citation in zip(shown.all(), sent_citations, strict=True):
        expect(item).to_contain_text(f"[{citation['id']}]")
        expect(item).to_contain_text(citation["title"])
        link = item.get_by_role("link")
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", "noopener noreferrer")

    # A marker such as [1] in the text links to its source beside the answer.
    if "[1]" in answer_text(lines):
        marker = answer_body(answer).locator("a.cite-ref").first
        expect(marker).to_have_text("[1]")
        marker.click()
        expect(shown.first).to_be_focused()


def test_stop_freezes_the_text_and_ends_the_model_call(app_server, model_server, page, artifacts):
    open_page(page, app_server.url)
    aborted_before = model_server.stats()["aborted"]
    answer = ask(page, "Tell me a long story #slow")
    body = answer_body(answer)
    expect(body).to_contain_text("word2")
    page.screenshot(path=artifacts / "mid-answer.png")

    page.get_by_test_id("stop").click()
    expect(answer.locator(".mark-stopped")).to_be_visible()
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("send")).to_be_visible()
    frozen = body.inner_text()
    page.wait_for_timeout(1200)  # the stand-in would have sent about 12 more chunks by now
    assert body.inner_text() == frozen
    assert "word70" not in frozen
    page.screenshot(path=artifacts / "stopped.png")

    # The app closed its model stream when the page went away.
    assert wait_until(lambda: model_server.stats()["aborted"] > aborted_before)
    assert saved_turns(page)[-1]["status"] == "stopped"
    assert saved_turns(page)[-1]["content"].startswith("Answer to:")


def test_switch_off_uses_the_buffered_route(app_server, page):
    open_page(page, app_server.url)
    toggle = page.get_by_test_id("streaming-toggle")
    expect(toggle).to_be_checked()  # the app streams, so the page does by default
    toggle.uncheck()
    chat_requests: list[str] = []
    page.on("request", lambda r: chat_requests.append(r.url) if "/api/chat" in r.url else None)

    with page.expect_response(app_server.url + "/api/chat") as buffered:
        answer = ask(page, "What is NDJSON?")
    wait_until_answered(page, answer)

    assert buffered.value.request.method == "POST"
    assert buffered.value.status == 200
    assert chat_requests == [app_server.url + "/api/chat"]
    completion = buffered.value.json()
    assert normalise(answer_body(answer).inner_text()) == normalise(
        completion["message"]["content"]
    )


def test_switch_defaults_to_what_the_server_does(start_app, page):
    with start_app({"CHAT_STREAMING": "false"}) as server:
        open_page(page, server.url)
        expect(page.get_by_test_id("streaming-toggle")).not_to_be_checked()
        with page.expect_response(server.url + "/api/chat") as buffered:
            answer = ask(page, "What is NDJSON?")
        wait_until_answered(page, answer)
        assert buffered.value.status == 200
        expect(answer_body(answer)).to_contain_text("Answer to: What is NDJSON?")


def test_the_page_shows_the_first_step_while_a_slow_model_is_still_silent(
    start_app, model_server, page
):
    model_server.reset()
    with start_app({"CHAT_MODEL_TIMEOUT_SECONDS": "10"}) as server:
        open_page(page, server.url)
        # The stand-in holds its first word until released, however long the page takes.
        answer = ask(page, "Slow to start #held")
        step = answer.get_by_test_id("step").first
        expect(step).to_contain_text("Question received")
        # The model has not said a word yet: the step is shown on its own.
        assert normalise(answer_body(answer).text_content() or "") == ""
        model_server.release()
        wait_until_answered(page, answer)
        assert "Answer to:" in normalise(answer_body(answer).text_content() or "")
