"""The data-quality page in a real browser: the days x vehicles picture of the GNSS fix
rate, the outage day marked, each cell a link to the search for its scenes; and the flags
on the search page's cards and filter."""

import pytest

from tests.gnss import ingest, vehicle_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD, BAD = [0.99, 0.97, 1.0], [0.4, 0.6, 0.5]
WINDOW = "start_after=2026-11-20&start_before=2026-11-30"


@pytest.fixture
def gnss_fleet(tmp_path):
    """The 28th is an outage day (two of three vehicles low); on the 27th veh-01 is low
    alone (no outage); the 26th is clean."""
    ingest(
        tmp_path,
        "fleet",
        vehicle_day("veh-01", "2026-11-28", BAD)
        + vehicle_day("veh-02", "2026-11-28", BAD)
        + vehicle_day("veh-03", "2026-11-28", GOOD)
        + vehicle_day("veh-01", "2026-11-27", BAD)
        + vehicle_day("veh-02", "2026-11-27", GOOD)
        + vehicle_day("veh-03", "2026-11-26", GOOD),
    )


def open_quality(page, query: str = WINDOW):
    page.goto(f"/quality/?{query}")
    page.wait_for_selector("#quality-page[data-ready=true]")


def cell(page, vehicle: str, day: str):
    return page.locator(f'.hm-cell[data-vehicle="{vehicle}"][data-day="{day}"]')


def test_the_picture_marks_the_outage_day_and_the_low_vehicle_day(signed_in, gnss_fleet):
    page = signed_in
    open_quality(page)
    # One column per day of the window, one row per vehicle (and one for the fleet).
    assert page.locator(".hm-day").count() == 11
    assert page.locator(".hm-cell[data-vehicle]").count() == 6
    markers = page.locator("[data-outage-day]")
    assert markers.evaluate_all("ms => ms.map(m => m.dataset.outageDay)") == ["2026-11-28"]
    low_alone = cell(page, "veh-01", "2026-11-27")
    assert (low_alone.get_attribute("data-low"), low_alone.get_attribute("data-outage")) == (
        "true",
        "false",
    )
    fine_on_outage = cell(page, "veh-03", "2026-11-28")
    assert (
        fine_on_outage.get_attribute("data-low"),
        fine_on_outage.get_attribute("data-outage"),
    ) == (
        "false",
        "true",
    )
    assert page.get_by_test_id("outage-days").inner_text().startswith("1 outage day · 9 scenes")
    assert page.locator("#outage-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.day)"
    ) == ["2026-11-28"]
    assert page.js_errors == []


def test_a_cell_opens_the_search_for_its_scenes(signed_in, gnss_fleet):
    page = signed_in
    open_quality(page)
    cell(page, "veh-01", "2026-11-27").click()
    page.wait_for_url("**/?vehicle=veh-01&start_after=*")
    page.wait_for_selector("#results .card[data-scene-id]")
    cards = page.locator("#results .card[data-scene-id]")
    assert cards.count() == 3
    ids = cards.evaluate_all("cs => cs.map(c => c.dataset.sceneId)")
    assert all(i.startswith("veh-01_20261127") for i in ids)
    # Each card says why its scene is flagged.
    assert page.locator('#results .card [data-flag="gnss_low"]').count() == 3
    assert page.js_errors == []


def test_the_window_comes_from_the_url_and_shows_in_the_form(signed_in, gnss_fleet):
    page = signed_in
    open_quality(page, "start_after=2026-11-27&start_before=2026-11-27")
    assert page.locator(".hm-day").count() == 1
    assert page.locator("[data-outage-day]").count() == 0
    assert page.locator("#w-start_after").input_value() == "2026-11-27"
    open_quality(page, "")  # no window: the 90 days up to the latest day with scenes
    assert page.locator("#w-start_before").input_value() == "2026-11-28"
    assert page.locator(".hm-day").count() == 90


def test_a_bad_window_names_the_field(signed_in, gnss_fleet):
    page = signed_in
    page.goto("/quality/?start_after=2026-11-30&start_before=2026-11-01")
    page.wait_for_selector("#heatmap .state-error")
    assert "start_after" in page.locator("#window-error").inner_text()


def test_search_filter_selects_flagged_scenes(signed_in, gnss_fleet):
    page = signed_in
    page.goto("/?quality=flagged")
    page.wait_for_selector("#results .card[data-scene-id]")
    # The 28th's nine scenes (outage) and veh-01's three low ones on the 27th.
    assert page.locator("#results .card[data-scene-id]").count() == 12
    assert page.locator('input[name="quality"][value="flagged"]').is_checked()
    page.locator('label:has(input[name="quality"][value="ok"])').click()
    page.wait_for_url("**/?quality=ok")
    page.wait_for_function("() => document.querySelectorAll('#results .card').length === 6")
    assert page.locator("#results .card .quality-flag").count() == 0
    assert page.js_errors == []
