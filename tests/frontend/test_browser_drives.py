"""Drives in a real browser: the drive page starts at `t`, plays across a scene boundary
on the preloaded video, steps over a gap, and its URL follows the playhead; the scene
viewer steps through its drive and searches by the moment on screen."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST = "veh-01_20261128T093000_000"  # 09:30:00, seven cameras, disengagements at 12.3, 16.0
SECOND = "veh-01_20261128T093020_001"  # 09:30:20, right after it
DRIVE = "veh-01_20261128"
GAPPY_DRIVE = "veh-02_20261128"  # 22:00:00 and 22:10:00: 580 s without recording

ACTIVE = "document.querySelector('#screen video.active')"
STANDBY = "document.querySelector('#screen video.slot:not(.active)')"


def url_t(page) -> float:
    return float(re.search(r"[?&]t=([\d.]+)", page.url)[1])


def wait_scene(page, scene_id_part: str):
    page.wait_for_function(
        f"() => document.querySelector('#scene-label').textContent.includes({scene_id_part!r})"
    )


def wait_ready(page):
    page.wait_for_function(f"() => {ACTIVE}.readyState >= 2 && !{ACTIVE}.seeking")


def test_drive_page_starts_at_t(signed_in, fleet):
    page = signed_in
    page.goto(f"/drives/{DRIVE}?t=12")
    wait_ready(page)
    assert abs(page.evaluate(f"{ACTIVE}.currentTime") - 12) < 0.15
    assert SECOND not in page.locator("#scene-label").inner_text()
    assert FIRST in page.locator("#scene-label").inner_text()
    assert page.locator("#wallclock").inner_text().startswith("09:30:12")
    assert page.locator("#camera").input_value() == "front_wide"
    assert page.locator(".tl-diseng").count() == 2
    assert page.js_errors == []


def test_playing_crosses_the_boundary_on_the_preloaded_video(signed_in, fleet):
    page = signed_in
    page.goto(f"/drives/{DRIVE}?t=18.6")
    wait_ready(page)
    page.wait_for_function(f"() => {STANDBY}.readyState >= 2")  # the next scene, waiting
    waiting_slot = page.evaluate(f"{STANDBY}.dataset.slot")
    # Anything that reloads the waiting video would fire these.
    page.evaluate(
        f"() => {{ window.reloads = 0; for (const type of ['emptied', 'loadstart'])"
        f" {STANDBY}.addEventListener(type, () => window.reloads++); }}"
    )
    page.click("#play")
    wait_scene(page, SECOND)
    assert page.evaluate(f"{ACTIVE}.dataset.slot") == waiting_slot
    assert page.evaluate("window.reloads") == 0
    page.wait_for_function(f"() => {ACTIVE}.currentTime > 0.3 && !{ACTIVE}.paused")
    assert 20 <= url_t(page) < 21  # the URL followed the scene change
    page.click("#play")
    t = page.evaluate(f"{ACTIVE}.currentTime")
    assert abs(url_t(page) - (20 + t)) < 0.06  # and the pause
    assert "camera=front_wide" in page.url
    assert page.js_errors == []


def test_playing_steps_over_a_gap_in_recording(signed_in, fleet):
    page = signed_in
    page.goto(f"/drives/{GAPPY_DRIVE}?t=19.2")
    wait_ready(page)
    assert page.locator(".tl-gap").count() == 1
    page.click("#play")
    wait_scene(page, "_001")
    assert 600 <= url_t(page) < 601  # the second scene starts 600 s into the drive
    assert "without recording" in page.locator(".toast").first.inner_text()
    page.wait_for_function(f"() => {ACTIVE}.currentTime > 0.2")
    assert page.locator("#wallclock").inner_text().startswith("22:10:00")


def test_a_paused_playhead_in_the_gap_says_nothing_was_recorded(signed_in, fleet):
    page = signed_in
    page.goto(f"/drives/{GAPPY_DRIVE}?t=300")
    note = page.locator("#note")
    note.wait_for()
    assert "Not recorded 22:00:20\N{EN DASH}22:10:00" in note.inner_text()


def test_a_disengagement_mark_on_the_timeline_seeks_to_it(signed_in, fleet):
    page = signed_in
    page.goto(f"/drives/{DRIVE}?t=2")
    wait_ready(page)
    page.locator(".tl-diseng").nth(1).click()
    page.wait_for_function(f"() => Math.abs({ACTIVE}.currentTime - 16) < 0.05")
    assert url_t(page) == 16.0


def test_picking_a_camera_plays_it_and_names_it_in_the_url(signed_in, fleet):
    page = signed_in
    page.goto(f"/drives/{DRIVE}?t=5")
    wait_ready(page)
    before = page.evaluate(f"{ACTIVE}.currentSrc")
    page.select_option("#camera", "front_narrow")
    page.wait_for_function(f"() => {ACTIVE}.currentSrc !== {before!r} && {ACTIVE}.readyState >= 2")
    assert abs(page.evaluate(f"{ACTIVE}.currentTime") - 5) < 0.15
    assert "camera=front_narrow" in page.url


def test_a_vehicle_and_local_time_open_the_drive_at_that_moment(signed_in, fleet):
    page = signed_in
    page.goto("/vehicles/veh-01?at=2026-11-28T09:30:25")
    page.wait_for_url(f"**/drives/{DRIVE}?t=25*")
    wait_ready(page)
    assert SECOND in page.locator("#scene-label").inner_text()
    assert abs(page.evaluate(f"{ACTIVE}.currentTime") - 5) < 0.15


def test_scene_viewer_steps_through_its_drive(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{FIRST}?t=3&camera=front_narrow")
    assert page.locator("#prev-scene").is_disabled()
    page.keyboard.press("]")
    page.wait_for_url(f"**/scenes/{SECOND}?camera=front_narrow")
    assert page.locator("#next-scene").is_disabled()
    page.locator("#prev-scene").click()
    page.wait_for_url(f"**/scenes/{FIRST}?camera=front_narrow")


def test_scene_viewer_opens_its_drive_at_the_same_moment(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{SECOND}?t=4&camera=front_wide")
    page.locator("#open-drive").click()
    page.wait_for_url(f"**/drives/{DRIVE}?t=24.00&camera=front_wide")
    wait_ready(page)
    assert abs(page.evaluate(f"{ACTIVE}.currentTime") - 4) < 0.15


def test_more_like_this_moment_searches_by_that_frame(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{FIRST}?t=8&camera=front_wide")
    page.locator("#like-moment").click()
    page.wait_for_url(f"**/?like={FIRST}&like_camera=front_wide&like_t=8.00")
    example = page.locator("[data-testid=like-example]")
    example.locator("img").wait_for()
    assert "front_wide" in example.inner_text()
    page.wait_for_selector("#results .card .score")
    ids = page.locator("#results .card[data-scene-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.sceneId)"
    )
    assert FIRST not in ids and len(ids) == 3  # ranked by the frame, the example left out
    assert page.js_errors == []
