"""Failures are shown in place, in words a person understands."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.support.page import answer_body, ask, open_page, wait_until_answered

pytestmark = pytest.mark.browser


def test_an_answer_cut_mid_stream_is_marked_and_keeps_its_text(app_server, page):
    open_page(page, app_server.url)
    answer = wait_until_answered(page, ask(page, "Tell me more #cut"))
    error = answer.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("interrupted before it finished")
    expect(error).to_have_attribute("role", "alert")
    expect(answer_body(answer)).to_contain_text("Answer to: Tell me more.")


def test_an_error_shows_the_request_reference_the_server_sent(app_server, page):
    open_page(page, app_server.url)
    with page.expect_response(lambda r: r.url.endswith("/api/chat/stream")) as streamed:
        answer = wait_until_answered(page, ask(page, "Tell me more #cut"))
    last_line = streamed.value.text().strip().splitlines()[-1]
    ref = json.loads(last_line)["error"]["ref"]

    shown = answer.get_by_test_id("error").get_by_test_id("error-ref")
    expect(shown).to_have_text(f"Reference: {ref}")


def test_a_refused_request_shows_its_reference_too(app_server, page):
    open_page(page, app_server.url)
    answer = wait_until_answered(page, ask(page, "x" * 40_000))  # over the message size limit

    error = answer.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error.get_by_test_id("error-ref")).to_have_text(re.compile(r"^Reference: [0-9a-f]{12}$"))


def test_rate_limit_says_when_to_retry(app_server, page, artifacts):
    open_page(page, app_server.url)
    answer = wait_until_answered(page, ask(page, "Busy? #429"))
    error = answer.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("too many requests")
    expect(error).to_contain_text(re.compile(r"Try again in \d+ seconds? \(after \d\d:\d\d:\d\d\)"))
    page.screenshot(path=artifacts / "rate-limited.png")


def test_try_again_sends_the_question_once_more_in_place_of_the_failed_turn(app_server, page):
    open_page(page, app_server.url)
    error = wait_until_answered(page, ask(page, "Busy? #429")).get_by_test_id("error")

    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as retried:
        error.get_by_role("button", name="Try again").click()
    assert retried.value.post_data_json["messages"] == [{"role": "user", "content": "Busy? #429"}]
    expect(page.get_by_test_id("message-user")).to_have_count(1)


def test_a_failing_model_is_reported(app_server, page):
    open_page(page, app_server.url)
    answer = wait_until_answered(page, ask(page, "Anyone there? #500"))
    expect(answer.get_by_test_id("error")).to_contain_text("did not answer properly")


def test_an_unreachable_service_is_reported(app_server, page):
    open_page(page, app_server.url)
    page.route("**/api/chat/stream", lambda route: route.abort("connectionrefused"))
    answer = wait_until_answered(page, ask(page, "Hello?"))
    expect(answer.get_by_test_id("error")).to_contain_text("could not be reached")
