"""The web UI in a real browser: sign in, search by URL, watch a scene at a moment, curate
a set and download its manifest."""

import hashlib
import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEVEN_CAMERA_SCENE = "veh-01_20261128T093000_000"


def card_ids(page) -> list[str]:
    page.wait_for_selector("#results .card[data-scene-id], #results .state")
    return page.locator("#results .card[data-scene-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.sceneId)"
    )


def test_sign_in_with_the_login_form(page, user):
    page.goto("/")
    page.wait_for_url("**/login/?next=/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    assert page.locator("#search-form").is_visible()
    assert page.js_errors == []


def test_wrong_password_is_refused(page, user):
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".form-error").is_visible()


def test_search_url_shows_the_matching_cards(signed_in, fleet):
    page = signed_in
    page.goto("/?vehicle=veh-02&has_disengagement=true")
    assert card_ids(page) == ["veh-02_20261128T221000_001"]
    card = page.locator('.card[data-scene-id="veh-02_20261128T221000_001"]')
    assert card.locator(".thumb img").count() == 1
    assert card.locator(".badge-danger").get_attribute("aria-label") == "1 disengagement"
    assert "veh-02" in card.inner_text()
    assert "22:10" in card.inner_text()  # local time, Asia/Tokyo
    assert page.locator('[data-param="has_disengagement"][value="true"]').is_checked()
    assert page.js_errors == []


def test_speed_filter_is_typed_in_kmh_and_sent_in_mps(signed_in, fleet):
    page = signed_in
    page.goto("/")
    card_ids(page)
    page.fill("#f-max_speed_gte", "60")
    page.press("#f-max_speed_gte", "Enter")
    page.wait_for_url("**/?max_speed_gte=16.666667")
    assert sorted(card_ids(page)) == ["veh-02_20261128T220000_000", "veh-02_20261128T221000_001"]


def test_text_search_shows_scored_moments(signed_in, fleet):
    page = signed_in
    page.goto("/?text=a+road+at+night")
    ids = card_ids(page)
    assert set(ids) == {d.scene_id for d in fleet}
    scores = page.locator("#results .card .score").all_inner_texts()
    assert len(scores) == len(ids) and all(float(s) <= 1.0 for s in scores)
    assert page.locator("[data-testid=model-banner]").is_visible()


def test_more_like_this_searches_by_the_scene(signed_in, fleet):
    page = signed_in
    page.goto("/?tag=highway")
    card_ids(page)
    page.locator('.card[data-scene-id="veh-02_20261128T220000_000"] .more-like').click()
    page.wait_for_url("**/?like=veh-02_20261128T220000_000&tag=highway")
    page.wait_for_selector("#results .card .score")
    assert card_ids(page) == ["veh-02_20261128T221000_001"]


def test_malformed_filter_names_the_field(signed_in, fleet):
    page = signed_in
    page.goto("/?max_speed_gte=fast")
    page.wait_for_selector("#results .state-error")
    assert "max_speed_gte" in page.locator("#results .state-error").inner_text()
    assert page.locator('[data-error-for="max_speed_gte"]').is_visible()


def test_scene_opens_with_every_video_at_t(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{SEVEN_CAMERA_SCENE}?t=12&camera=front_narrow")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)"
    )
    times = page.locator("video").evaluate_all("vs => vs.map(v => v.currentTime)")
    assert len(times) == 7
    assert all(abs(t - 12) < 0.15 for t in times), times
    assert page.locator(".cam.main").get_attribute("data-camera") == "front_narrow"
    page.wait_for_selector("#charts .uplot")
    assert page.locator("#charts .uplot").count() == 5
    assert page.locator(".diseng-mark").count() == 2
    assert page.js_errors == []


def test_clicking_a_disengagement_seeks_every_camera(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{SEVEN_CAMERA_SCENE}?t=2")
    page.wait_for_function("() => document.querySelectorAll('.diseng-list button').length == 2")
    page.locator(".diseng-list button").first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')]"
        ".every(v => Math.abs(v.currentTime - 12.3) < 0.15)"
    )
    assert "t=12.30" in page.url


def test_add_two_scenes_to_a_set_freeze_and_download(signed_in, fleet):
    page = signed_in
    page.goto("/?vehicle=veh-01")
    ids = card_ids(page)
    assert len(ids) == 2
    for scene_id in ids:
        page.locator(f'.card[data-scene-id="{scene_id}"] .select input').check()
    assert page.locator("#selection-count").inner_text() == "2"
    page.click("#add-to-set")
    page.wait_for_selector("#set-choice[data-loaded=true]")
    page.select_option("#set-choice", "__new__")
    page.fill("#new-set-name", "two-urban")
    page.click("#set-dialog-ok")
    page.locator(".toast a", has_text="two-urban").click()

    page.wait_for_selector("#items .item")
    items = page.locator("#items .item").evaluate_all("i => i.map(x => x.dataset.sceneId)")
    assert sorted(items) == sorted(ids)
    page.click("#freeze")
    version = page.locator('.version[data-version="1"]')
    version.wait_for()
    assert "2 scenes" in version.inner_text()
    sha = version.locator(".version-sha code").get_attribute("title")

    with page.expect_download() as download_info:
        version.locator('a[data-format="jsonl"]').click()
    body = download_info.value.path().read_bytes()
    rows = [json.loads(line) for line in body.splitlines()]
    assert sorted(r["scene_id"] for r in rows) == sorted(ids)
    assert hashlib.sha256(body).hexdigest() == sha


def test_removing_an_item_and_refreezing_shows_the_diff(signed_in, fleet, user):
    from curation import services

    # Two scenes without quality flags: a flagged one would be left out of both versions.
    scene_set = services.scene_set_create(owner=user, name="urban")
    services.scene_set_add_scenes(
        scene_set_id=scene_set.pk,
        actor=user,
        scene_ids=["veh-01_20261128T093000_000", "veh-01_20261128T093020_001"],
    )
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    page = signed_in
    page.goto(f"/sets/{scene_set.pk}/")
    item = page.locator('.item[data-scene-id="veh-01_20261128T093000_000"]')
    item.hover()
    item.locator(".remove").click()
    item.wait_for(state="detached")
    page.click("#freeze")
    version = page.locator('.version[data-version="2"]')
    version.wait_for()
    assert "1 scene" in version.inner_text()
    assert "\u22121" in version.locator(".diff").inner_text()  # minus sign


def test_playing_keeps_every_camera_on_the_master_clock(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{SEVEN_CAMERA_SCENE}?t=2")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)"
    )
    page.click("#play")
    page.wait_for_function("() => document.querySelector('.cam.main video').currentTime > 3.5")
    page.click("#play")
    times = page.locator("video").evaluate_all("vs => vs.map(v => v.currentTime)")
    assert max(times) - min(times) < 0.15, times
    assert all(v is True for v in page.locator("video").evaluate_all("vs => vs.map(v => v.paused)"))
    t = float(page.url.split("t=")[1].split("&")[0])
    assert abs(t - times[0]) < 0.05


def test_frame_step_moves_every_camera_one_frame(signed_in, fleet):
    page = signed_in
    page.goto(f"/scenes/{SEVEN_CAMERA_SCENE}?t=5")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)"
    )
    page.click("#step-fwd")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')]"
        ".every(v => Math.abs(v.currentTime - 5.1) < 0.02)"
    )


def test_back_restores_the_previous_search(signed_in, fleet):
    page = signed_in
    page.goto("/?vehicle=veh-01")
    assert len(card_ids(page)) == 2
    page.locator('.segmented label:has([value="true"])').click()
    page.wait_for_url("**/?vehicle=veh-01&has_disengagement=true")
    page.wait_for_function("() => document.querySelectorAll('#results .card').length == 1")
    page.go_back()
    page.wait_for_url("**/?vehicle=veh-01")
    page.wait_for_function("() => document.querySelectorAll('#results .card').length == 2")
    assert page.locator('[data-param="has_disengagement"][value=""]').is_checked()


def test_latest_scenes_load_page_after_page_as_the_grid_scrolls(signed_in):
    from catalog.models import Scene
    from tests.factories import SceneFactory

    SceneFactory.create_batch(120)
    newest_first = list(
        Scene.objects.order_by("-start_time", "-id").values_list("scene_id", flat=True)
    )
    page = signed_in
    page.goto("/?limit=50")
    assert len(card_ids(page)) == 50
    assert "120" in page.locator("#result-meta").inner_text()
    for expected in (100, 120):
        page.locator("#results .card[data-scene-id]").last.scroll_into_view_if_needed()
        page.wait_for_function(
            f"document.querySelectorAll('#results .card[data-scene-id]').length >= {expected}"
        )
    page.locator("[data-more=scenes]").wait_for(state="detached")
    assert card_ids(page) == newest_first
    assert page.js_errors == []


def test_a_large_set_opens_with_its_first_items_and_pages_on_demand(signed_in, user):
    from curation.models import SceneSet, SceneSetItem
    from tests.factories import SceneFactory

    scene_set = SceneSet.objects.create(name="big", owner=user)
    scenes = SceneFactory.create_batch(230)
    SceneSetItem.objects.bulk_create(SceneSetItem(scene_set=scene_set, scene=s) for s in scenes)
    page = signed_in
    page.goto(f"/sets/{scene_set.pk}/")
    page.wait_for_selector("#items .item")
    items = page.locator("#items .item")
    assert items.count() == 100  # one page, not the whole set
    assert page.locator("#item-count").inner_text() == "230"
    assert "100 of 230 shown" in page.locator("#items .load-more").inner_text()
    page.click("[data-more=items]")
    page.wait_for_function("document.querySelectorAll('#items .item').length >= 200")
    items.last.scroll_into_view_if_needed()
    page.locator("[data-more=items]").wait_for(state="detached")
    shown = items.evaluate_all("i => i.map(x => x.dataset.sceneId)")
    assert shown == [s.scene_id for s in scenes]  # in the order added, each once
    assert page.js_errors == []
