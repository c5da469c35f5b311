"""Screenshots of every page with demo data, for people to review, each checked before it
is taken: the page is in the state the picture is meant to show, no script failed, and
the PNG is a full, non-blank picture of the viewport. Opt-in, as it renders and embeds a
ten-scene, seven-camera fleet:
`CATALOG_SCREENSHOTS_DIR=/tmp/shots pytest tests/frontend/test_screenshots.py`.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.frontend import demo

OUT = os.environ.get("CATALOG_SCREENSHOTS_DIR")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not OUT, reason="set CATALOG_SCREENSHOTS_DIR to take screenshots"),
]

VEHICLES = ["veh-01", "veh-03", "veh-07", "veh-12"]
TAGS = [["urban", "rain"], ["highway"], ["urban", "night"], ["intersection"], ["highway", "night"]]
# A picture of a page, not of an empty or single-colour viewport: the UI's panels, text and
# thumbnails give thousands of colours and a spread of brightness.
MIN_COLOURS = 200
MIN_BRIGHTNESS_STDDEV = 8.0
MIN_PNG_BYTES = 10_000


def showcase() -> list[demo.DemoScene]:
    scenes = []
    for i in range(10):
        vehicle = VEHICLES[i % len(VEHICLES)]
        start = demo.tokyo(27 + i % 2, (7 + i * 3) % 24, (i * 7) % 60)
        diseng = [(12.3, "driver_override")] if i % 3 == 0 else []
        if i == 0:
            diseng.append((16.4, "planner_fault"))
        scenes.append(
            demo.DemoScene(
                f"{vehicle}_{start:%Y%m%dT%H%M%S}_{i:03d}",
                vehicle,
                start + timedelta(seconds=i),
                cameras=demo.CAMERAS,
                seed=20 + i,
                cruise_mps=8 + (i * 3.7) % 20,
                brake_at_s=11.0 if diseng else None,
                disengagements=diseng,
                tags=TAGS[i % len(TAGS)],
                origin=(35.57 + (i % 5) * 0.012, 139.70 + (i // 2) * 0.015),
                heading_deg=30 * i,
                gnss_outage=(8.0, 9.5) if i == 4 else None,
            )
        )
    return scenes


@pytest.fixture
def showcase_fleet(media_dir, tmp_path, user):
    """Scene ids, newest first. `CATALOG_SCREENSHOTS_MANIFEST` names a `demo_fleet`
    manifest to show instead of the synthetic scenes built here."""
    from catalog.ingest.service import manifest_ingest
    from catalog.models import Scene
    from embeddings.services import scene_embed

    manifest = os.environ.get("CATALOG_SCREENSHOTS_MANIFEST")
    if manifest:
        manifest_ingest(manifest_uri=manifest)
        for pk in Scene.objects.values_list("pk", flat=True):
            scene_embed(scene_pk=pk)
    else:
        videos = Path(os.environ.get("CATALOG_SCREENSHOTS_VIDEOS", "/tmp/catalog-ui-videos"))
        videos.mkdir(parents=True, exist_ok=True)
        (tmp_path / "videos").symlink_to(videos, target_is_directory=True)
        demo.build(tmp_path, showcase(), size=(320, 180))
    return list(Scene.objects.order_by("-start_time").values_list("scene_id", flat=True))


def assert_picture(path: Path, viewport: dict) -> None:
    assert path.stat().st_size >= MIN_PNG_BYTES, path
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (viewport["width"], viewport["height"]), path
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=MIN_COLOURS)  # None: more colours than that
        assert colours is None, f"{path.name}: only {len(colours)} colours"
        assert ImageStat.Stat(rgb.convert("L")).stddev[0] >= MIN_BRIGHTNESS_STDDEV, path


def shot(page, name: str) -> None:
    assert page.js_errors == [], page.js_errors
    page.wait_for_timeout(600)  # fonts, images, map tiles settle
    path = Path(OUT) / f"{name}.png"
    page.screenshot(path=str(path))
    assert_picture(path, page.viewport_size)


def thumbnails_loaded(page, selector: str) -> int:
    """How many images under `selector`, after waiting until each has loaded."""
    page.wait_for_function(
        f"() => [...document.querySelectorAll({selector!r})]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    return page.locator(selector).count()


def test_screenshots(browser, live_server, user, showcase_fleet):
    from django.test import Client

    from catalog.models import Scene
    from curation import services
    from frontend.urlstate import DEFAULT_LIMIT

    Path(OUT).mkdir(parents=True, exist_ok=True)
    width, height = (
        int(x) for x in os.environ.get("CATALOG_SCREENSHOTS_SIZE", "1440x900").split("x")
    )
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))

    page.goto("/login/")
    assert page.locator("#id_username").is_visible()
    assert page.locator("#id_password").is_visible()
    shot(page, "01-login")

    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    ids = showcase_fleet
    with_diseng = (
        Scene.objects.filter(disengagement_count__gt=0).values_list("scene_id", flat=True).first()
    )
    page.goto("/")
    page.wait_for_selector("#results .card img")
    cards = page.locator("#results .card[data-scene-id]")
    expected_cards = min(len(ids), DEFAULT_LIMIT)
    assert cards.count() == expected_cards
    assert cards.first.get_attribute("data-scene-id") == ids[0]  # newest first
    assert thumbnails_loaded(page, "#results .card img") == expected_cards
    shot(page, "02-search-latest")

    near = os.environ.get("CATALOG_SCREENSHOTS_NEAR", "35.6,139.73,4000")
    page.goto(f"/?text=pedestrians+crossing+at+night&max_speed_gte=8.333333&near={near}")
    page.wait_for_selector("#results .card .score")
    scores = page.locator("#results .card .score").all_inner_texts()
    assert len(scores) >= 2 and all(-1.0 <= float(s) <= 1.0 for s in scores)
    assert page.locator("#f-max_speed_gte").input_value() == "30"  # km/h in the form
    for index in range(2):
        page.locator("#results .card .select input").nth(index).check()
    assert page.locator("#selection-count").inner_text() == "2"
    shot(page, "03-search-text-filters-selection")

    page.locator(".filters").evaluate("el => el.scrollTo(0, el.scrollHeight)")
    assert page.locator(".filters").evaluate("el => el.scrollTop") > 0
    assert page.locator("#place").is_visible()
    shot(page, "03b-search-place-filter")
    page.locator(".filters").evaluate("el => el.scrollTo(0, 0)")
    page.click("#add-to-set")
    page.wait_for_selector("#set-choice[data-loaded=true]")
    page.fill("#new-set-name", "night-pedestrians")
    assert page.locator("#new-set-name").is_visible()
    shot(page, "04-add-to-set-dialog")
    page.keyboard.press("Escape")

    page.goto("/?hour_gte=25&max_speed_gte=fast")
    page.wait_for_selector("#results .state-error")
    error = page.locator("#results .state-error").inner_text()
    assert "hour_gte" in error and "max_speed_gte" in error
    assert page.locator('[data-error-for="max_speed_gte"]').is_visible()
    shot(page, "05-search-error")

    page.goto("/?tag=nothing-like-this")
    page.wait_for_selector("#results .state")
    assert page.locator("#results .card").count() == 0
    shot(page, "06-search-empty")

    scene_id = with_diseng or ids[0]
    page.goto(f"/scenes/{scene_id}?t=12")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)"
    )
    page.wait_for_selector("#charts .uplot")
    times = page.locator("video").evaluate_all("vs => vs.map(v => v.currentTime)")
    assert len(times) == len(Scene.objects.get(scene_id=scene_id).cameras)
    assert all(abs(t - 12) < 0.15 for t in times), times
    assert page.locator("#charts .uplot").count() >= 1
    if with_diseng:
        assert page.locator(".diseng-mark").count() >= 1
    shot(page, "07-scene-viewer")
    page.mouse.wheel(0, 600)
    page.wait_for_function(  # the page, or the panel under the pointer, moved down
        "() => [document.scrollingElement, ...document.querySelectorAll('main, main *')]"
        ".some(el => el.scrollTop > 0)"
    )
    shot(page, "08-scene-viewer-scrolled")

    scene_set = services.scene_set_create(
        owner=user, name="night-pedestrians", description="Pedestrians crossing after dark"
    )
    services.scene_set_add_scenes(scene_set_id=scene_set.pk, actor=user, scene_ids=ids[:5])
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user, note="first cut")
    services.scene_set_remove_scenes(scene_set_id=scene_set.pk, actor=user, scene_ids=ids[:1])
    services.scene_set_add_scenes(scene_set_id=scene_set.pk, actor=user, scene_ids=ids[5:8])
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user, note="more night scenes")
    services.scene_set_create(owner=user, name="highway-merges", description="")
    page.goto("/sets/")
    names = page.locator("#sets-table .set-name").all_inner_texts()
    assert sorted(names) == ["highway-merges", "night-pedestrians"]
    shot(page, "09-sets")

    page.goto(f"/sets/{scene_set.pk}/")
    page.wait_for_selector('.version[data-version="2"]')
    page.wait_for_selector("#items .item img")
    assert page.locator(".version").count() == 2
    assert page.locator("#items .item").count() == len(ids[1:8])
    assert thumbnails_loaded(page, "#items .item img") == len(ids[1:8])
    shot(page, "10-set-detail")
    context.close()
