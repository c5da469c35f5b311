"""Text typed into a manifest reaches the page as text, never as HTML: a disengagement
kind that is an HTML payload shows literally in the map tooltip and runs nothing."""

import pytest

from catalog.hooks import scenes_changed_paused
from catalog.ingest.service import manifest_ingest
from tests.manifests import scene_record, write_manifest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__xss = 1">'


def test_disengagement_kind_shows_as_text_in_the_map_tooltip(signed_in, media_dir, tmp_path):
    # The default track is a straight diagonal: the map is fitted around it, so the
    # disengagement half-way along it sits at the centre of the map.
    record = scene_record(0, disengagements=[{"t_s": 10.0, "kind": PAYLOAD}])
    with scenes_changed_paused():  # no videos to embed
        manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [record])))
    page = signed_in
    page.goto(f"/scenes/{record['scene_id']}?t=0")
    page.wait_for_selector("#track-map .leaflet-interactive, #track-map canvas")
    page.wait_for_timeout(300)  # fitBounds settles
    page.locator("#track-map").hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert tooltip.inner_text().startswith(PAYLOAD)
    assert tooltip.locator("img").count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
