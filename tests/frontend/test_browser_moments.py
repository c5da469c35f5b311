"""Moment search in the browser: the "at that moment" conditions live in the URL, each card
shows what the car did at its moment, and results can be grouped by pattern."""

import json

import pytest

from tests.frontend.test_browser import card_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_moment_condition_in_the_url_reaches_the_api_and_the_cards(signed_in, fleet):
    page = signed_in
    with page.expect_request("**/api/v1/search/") as sent:
        page.goto("/?brake_gte=0.5")
    assert json.loads(sent.value.post_data)["at_moment"] == {"brake_gte": 0.5}
    ids = card_ids(page)
    assert ids  # the demo fleet brakes hard in two scenes
    for state in page.locator("#results .card .moment-state").all_inner_texts():
        assert "brake" in state
    assert page.locator("#f-brake_gte").input_value() == "50"  # shown in percent
    assert page.locator('.chip[data-filter="brake_gte"]').count() == 1
    assert page.js_errors == []


def test_typing_a_speed_condition_in_kmh_puts_mps_in_the_url(signed_in, fleet):
    page = signed_in
    page.goto("/")
    card_ids(page)
    page.fill("#f-speed_mps_gte", "36")
    page.press("#f-speed_mps_gte", "Enter")
    page.wait_for_url("**/?speed_mps_gte=10")
    card_ids(page)
    assert page.js_errors == []


def test_a_bad_condition_is_named_next_to_its_field(signed_in, fleet):
    page = signed_in
    page.goto("/?disengagement_within_s=-3")
    error = page.locator('[data-error-for="disengagement_within_s"]')
    error.wait_for()
    assert "between 0 and 3600" in error.inner_text()


def test_patterns_group_every_card_once(signed_in, fleet):
    page = signed_in
    page.goto("/?text=road&patterns=2")
    page.wait_for_selector("#results .pattern")
    sections = page.locator("#results .pattern")
    assert sections.count() == 2
    ids = card_ids(page)
    assert len(ids) == len(set(ids)) == len(fleet)
    assert page.locator("#f-patterns").input_value() == "2"
    assert page.js_errors == []
