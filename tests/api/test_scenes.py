"""`scenes/` and `scenes/<id>/` over HTTP: auth, filters, pagination, detail payload."""

from datetime import UTC, datetime, timedelta

import pytest

from api.scenes import SceneRowSerializer
from catalog.models import Scene
from catalog.services import manifest_ingest
from tests.factories import SceneFactory
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db


def test_scene_list_requires_authentication(anon_api):
    assert anon_api.get("/api/v1/scenes/").status_code == 401


def test_scene_list_is_paginated(api):
    SceneFactory.create_batch(3)
    body = api.get("/api/v1/scenes/?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] and body["previous"] is None


def test_scene_list_filters(api):
    SceneFactory(max_speed_mps=5)
    fast = SceneFactory(max_speed_mps=30)
    body = api.get("/api/v1/scenes/?max_speed_gte=20").json()
    assert [s["scene_id"] for s in body["results"]] == [fast.scene_id]


def test_scene_list_rows_are_what_the_documented_serializer_gives(api):
    SceneFactory(drive=None, max_speed_mps=None, gnss_fix_rate=None, tags=[])
    SceneFactory(tags=["rain", "night"], disengagement_count=2)
    rows = api.get("/api/v1/scenes/").json()["results"]
    scenes = Scene.objects.select_related("vehicle", "drive").order_by("-start_time")
    assert rows == [dict(SceneRowSerializer(scene).data) for scene in scenes]


def test_scene_list_renders_in_the_browsable_api(api):
    SceneFactory()
    response = api.get("/api/v1/scenes/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"scene_id" in response.content


def test_scenes_starting_in_the_same_second_page_in_one_order(api):
    same = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    scenes = SceneFactory.create_batch(5, start_time=same, end_time=same + timedelta(seconds=20))
    seen = []
    for page in (1, 2, 3):
        body = api.get(f"/api/v1/scenes/?page_size=2&page={page}").json()
        seen += [row["scene_id"] for row in body["results"]]
    assert seen == [s.scene_id for s in sorted(scenes, key=lambda s: -s.pk)]


def test_malformed_filter_gets_400_naming_it(api):
    response = api.get("/api/v1/scenes/?near=1,2&hour_gte=x")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"near", "hour_gte"}


def test_scene_detail_has_cameras_signals_disengagements(api, tmp_path):
    record = scene_record(disengagements=[{"t_s": 4.5, "kind": "driver_override"}])
    manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [record])))
    body = api.get(f"/api/v1/scenes/{record['scene_id']}/").json()
    assert set(body["cameras"]) == {"front_wide", "rear"}
    assert body["cameras"]["rear"].startswith("/api/v1/media/")
    assert body["camera_uris"] == {"front_wide": None, "rear": None}  # server paths
    assert body["signals"]["hz"] == 10
    assert len(body["signals"]["channels"]["speed_mps"]) == 200
    assert body["signals"]["t_s"][:3] == [0.0, 0.1, 0.2]
    assert body["disengagements"] == [{"t_s": 4.5, "kind": "driver_override"}]
    assert body["frames"] == []
    assert len(body["track"]) == 21  # 1 Hz over 20 s, plus the last fix


def test_unknown_scene_is_404(api):
    assert api.get("/api/v1/scenes/nope/").status_code == 404


def test_schema_is_served(anon_api):
    response = anon_api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/scenes/" in response.content


def test_staff_see_the_server_paths_of_local_videos(api, tmp_path):
    record = scene_record()
    manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [record])))
    api.user.is_staff = True
    api.user.save()
    body = api.get(f"/api/v1/scenes/{record['scene_id']}/").json()
    assert body["camera_uris"]["rear"] == (tmp_path / "videos/0/rear.mp4").as_uri()
    assert body["manifest_uri"] == (tmp_path / "m.jsonl").as_uri()
