import csv
import io
import json
import math
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest

from catalog.models import Scene
from curation import manifest, services
from tests.curation.helpers import make_scenes, make_set, manifest_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(user):
    scenes = make_scenes(3, tags=["rain", "night"])
    scene_set = make_set(user, scenes)
    services.scene_set_item_annotate(
        scene_set_id=scene_set.pk,
        actor=user,
        scene_id=scenes[0].scene_id,
        note="ped, crossing",
        t_start_s=1.5,
        t_end_s=4.0,
    )
    return services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)


def test_jsonl_rows_have_every_column_in_order(version):
    rows = [json.loads(line) for line in manifest_bytes(version).splitlines()]
    assert len(rows) == 3
    assert all(tuple(row) == manifest.column_names(2) for row in rows)


def test_jsonl_row_carries_scene_and_item_values(version):
    row = json.loads(manifest_bytes(version).splitlines()[0])
    scene = Scene.objects.get(scene_id=row["scene_id"])
    assert row["vehicle_id"] == scene.vehicle.vehicle_id
    assert row["drive_id"] == scene.drive.drive_id
    assert row["start_time"] == scene.start_time.isoformat().replace("+00:00", "Z")
    assert row["cameras"] == scene.cameras
    assert row["tags"] == ["rain", "night"]
    assert (row["note"], row["t_start_s"], row["t_end_s"]) == ("ped, crossing", 1.5, 4.0)


def test_csv_has_same_columns_and_values(version):
    jsonl = [json.loads(line) for line in manifest_bytes(version).splitlines()]
    rows = list(csv.DictReader(io.StringIO(manifest_bytes(version, "csv").decode())))
    assert tuple(rows[0]) == manifest.column_names(2)
    assert rows[0]["note"] == "ped, crossing"
    assert json.loads(rows[0]["cameras"]) == jsonl[0]["cameras"]
    assert [r["scene_id"] for r in rows] == [r["scene_id"] for r in jsonl]
    assert rows[1]["t_start_s"] == ""


def test_parquet_reads_back_with_same_columns_and_values(version):
    table = pq.read_table(io.BytesIO(manifest_bytes(version, "parquet")))
    jsonl = [json.loads(line) for line in manifest_bytes(version).splitlines()]
    assert tuple(table.column_names) == manifest.column_names(2)
    rows = table.to_pylist()
    assert [r["scene_id"] for r in rows] == [r["scene_id"] for r in jsonl]
    assert dict(rows[0]["cameras"]) == jsonl[0]["cameras"]
    assert rows[0]["tags"] == ["rain", "night"]
    assert rows[0]["start_time"].isoformat().replace("+00:00", "Z") == jsonl[0]["start_time"]
    assert rows[1]["t_start_s"] is None


def test_parquet_is_written_in_row_groups(user, monkeypatch):
    monkeypatch.setattr(manifest, "ROW_GROUP_ROWS", 2)
    scene_set = make_set(user, make_scenes(5))
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    parquet = pq.ParquetFile(io.BytesIO(manifest_bytes(version, "parquet")))
    assert (parquet.metadata.num_row_groups, parquet.metadata.num_rows) == (3, 5)


def test_nan_attribute_is_written_as_null(user):
    scene_set = make_set(user, make_scenes(1, max_speed_mps=math.nan))
    version = services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    assert json.loads(manifest_bytes(version))["max_speed_mps"] is None


def test_presign_adds_https_camera_urls_for_s3_cameras(user, s3):
    scene = make_scenes(1)[0]
    Scene.objects.filter(pk=scene.pk).update(
        cameras={"front_wide": f"{s3}/a/front.mp4", "rear": "file:///data/rear.mp4"}
    )
    version = services.scene_set_freeze(scene_set_id=make_set(user, [scene]).pk, actor=user)
    row = json.loads(manifest_bytes(version, presign_s=600))
    assert list(row)[-1] == "camera_urls"
    assert set(row["camera_urls"]) == {"front_wide"}
    assert row["camera_urls"]["front_wide"].startswith("http")
    query = parse_qs(urlsplit(row["camera_urls"]["front_wide"]).query)
    if "X-Amz-Expires" in query:  # SigV4: relative lifetime
        assert query["X-Amz-Expires"] == ["600"]
    else:  # SigV2: absolute expiry time
        assert abs(int(query["Expires"][0]) - time.time() - 600) < 30


def test_presign_column_in_csv_and_parquet(version, s3):
    rows = list(csv.DictReader(io.StringIO(manifest_bytes(version, "csv", presign_s=60).decode())))
    table = pq.read_table(io.BytesIO(manifest_bytes(version, "parquet", presign_s=60)))
    assert list(rows[0])[-1] == table.column_names[-1] == "camera_urls"


def test_jsonl_line_bytes_are_pinned():
    """The canonical line format is what every recorded sha256 depends on: a change here
    breaks existing versions, so it needs a new manifest schema instead."""
    row = {name: None for name in manifest.COLUMN_NAMES}
    row.update(
        scene_id="s-1",
        start_time=datetime(2026, 11, 28, 0, 30, tzinfo=UTC),
        end_time=datetime(2026, 11, 28, 0, 30, 20, 500, tzinfo=UTC),
        duration_s=20.0,
        note='歩行者 "x"\n',
        cameras={"front": "s3://b/k.mp4"},
        tags=["rain"],
        local_hour=9,
        max_decel_mps2=1e-05,
        disengagement_count=0,
    )
    assert manifest.jsonl_line(row) == (
        '{"scene_id":"s-1","vehicle_id":null,"drive_id":null,'
        '"start_time":"2026-11-28T00:30:00Z","end_time":"2026-11-28T00:30:20.000500Z",'
        '"duration_s":20.0,"t_start_s":null,"t_end_s":null,"note":"歩行者 \\"x\\"\\n",'
        '"cameras":{"front":"s3://b/k.mp4"},"tags":["rain"],"local_hour":9,'
        '"max_speed_mps":null,"mean_speed_mps":null,"max_decel_mps2":1e-05,'
        '"gnss_fix_rate":null,"disengagement_count":0,"start_lat":null,"start_lon":null,'
        '"end_lat":null,"end_lon":null}'
    )
