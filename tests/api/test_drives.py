"""`drives/<drive_id>/` over HTTP: a drive's scenes in time order with their offsets,
bounded, windowed past the bound, documented."""

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from catalog.models import Scene
from catalog.selectors import MAX_DRIVE_SCENES
from tests.factories import DriveFactory, SceneFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)


@pytest.fixture
def drive():
    """Four scenes, 55.5 s without recording after the second; created out of order."""
    drive = DriveFactory(drive_id="veh-07_20261128", vehicle__vehicle_id="veh-07")
    for scene_id, offset, duration in [
        ("trip-3", 95.5, 20.0),
        ("trip-1", 0.0, 20.0),
        ("trip-4", 115.5, 18.25),
        ("trip-2", 20.0, 20.0),
    ]:
        SceneFactory(
            scene_id=scene_id,
            vehicle=drive.vehicle,
            drive=drive,
            start_time=T0 + timedelta(seconds=offset),
            duration_s=duration,
        )
    # Another vehicle's drive at the same times.
    SceneFactory(vehicle__vehicle_id="veh-08", start_time=T0 + timedelta(seconds=30))
    return drive


def test_drive_lists_its_scenes_in_time_order_with_offsets(api, drive):
    body = api.get("/api/v1/drives/veh-07_20261128/").json()
    assert body["drive_id"] == "veh-07_20261128"
    assert body["vehicle_id"] == "veh-07"
    assert body["start_time"] == "2026-11-28T00:30:00Z"
    assert [(s["scene_id"], s["offset_s"], s["duration_s"]) for s in body["scenes"]] == [
        ("trip-1", 0.0, 20.0),
        ("trip-2", 20.0, 20.0),
        ("trip-3", 95.5, 20.0),
        ("trip-4", 115.5, 18.25),
    ]
    assert (body["duration_s"], body["scene_count"], body["truncated"]) == (133.75, 4, False)
    assert body["url"] == "/drives/veh-07_20261128"


def test_unknown_drive_is_404(api, drive):
    response = api.get("/api/v1/drives/veh-07_19991231/")
    assert response.status_code == 404
    assert "veh-07_19991231" in response.json()["detail"]


def test_drive_requires_authentication(anon_api, drive):
    assert anon_api.get("/api/v1/drives/veh-07_20261128/").status_code == 401


def test_from_s_reads_the_scenes_ending_after_it(api, drive):
    body = api.get("/api/v1/drives/veh-07_20261128/?from_s=40").json()
    assert [(s["scene_id"], s["offset_s"]) for s in body["scenes"]] == [
        ("trip-3", 95.5),
        ("trip-4", 115.5),
    ]
    assert body["from_s"] == 40.0


@pytest.mark.parametrize("bad", ["-1", "soon", "nan", "inf"])
def test_bad_from_s_is_400_naming_it(api, drive, bad):
    response = api.get(f"/api/v1/drives/veh-07_20261128/?from_s={bad}")
    assert response.status_code == 400
    assert "from_s" in response.json()["errors"]


def test_past_the_cap_the_answer_is_truncated_and_from_s_reads_on(api):
    drive = DriveFactory(drive_id="long-drive")
    scenes = SceneFactory.build_batch(MAX_DRIVE_SCENES + 2, vehicle=drive.vehicle, drive=drive)
    for i, scene in enumerate(scenes):
        scene.start_time = T0 + timedelta(seconds=20 * i)
        scene.end_time = scene.start_time + timedelta(seconds=20)
        scene.scene_id = f"long-{i:05d}"
    Scene.objects.bulk_create(scenes)
    first = api.get("/api/v1/drives/long-drive/").json()
    assert len(first["scenes"]) == MAX_DRIVE_SCENES
    assert (first["truncated"], first["scene_count"]) == (True, MAX_DRIVE_SCENES + 2)
    last = first["scenes"][-1]
    rest = api.get(f"/api/v1/drives/long-drive/?from_s={last['offset_s'] + last['duration_s']}")
    assert [s["scene_id"] for s in rest.json()["scenes"]] == [
        f"long-{MAX_DRIVE_SCENES:05d}",
        f"long-{MAX_DRIVE_SCENES + 1:05d}",
    ]
    assert rest.json()["truncated"] is False


def test_drive_is_documented_with_its_bound(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)
    get = schema["paths"]["/api/v1/drives/{drive_id}/"]["get"]
    assert f"{MAX_DRIVE_SCENES}" in get["description"]
    assert [p["name"] for p in get["parameters"] if p["in"] == "query"] == ["from_s"]
    assert "404" in get["description"]
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    drive = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    fields = {"drive_id", "vehicle_id", "start_time", "scenes", "truncated"}
    assert fields <= set(drive["properties"])
