"""Ingestion end to end against the real database: upserts, idempotency, rejections."""

import io
import json

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.db import DatabaseError

from catalog import geo, hooks
from catalog.ingest import writer
from catalog.models import Disengagement, Drive, Scene, SceneSignals, Vehicle
from catalog.services import manifest_ingest
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db


@pytest.fixture
def manifest(tmp_path):
    return write_manifest(
        tmp_path / "fleet" / "manifest.jsonl", [scene_record(i) for i in range(3)]
    )


def test_ingest_creates_scenes_vehicles_drives(manifest):
    report = manifest_ingest(manifest_uri=str(manifest))
    assert (report.inserted, report.updated, report.rejected) == (3, 0, [])
    assert Scene.objects.count() == 3
    assert list(Vehicle.objects.values_list("vehicle_id", flat=True)) == ["veh-07"]
    assert list(Drive.objects.values_list("drive_id", flat=True)) == ["veh-07_20261128"]


def test_ingest_stores_signals_for_plotting(manifest):
    manifest_ingest(manifest_uri=str(manifest))
    signals = SceneSignals.objects.get(scene__scene_id=scene_record(0)["scene_id"])
    assert signals.samples == 200
    assert "speed_mps" in signals.channels


def test_ingest_stores_disengagements(tmp_path):
    record = scene_record(disengagements=[{"t_s": 12.3, "kind": "driver_override"}])
    manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [record])))
    scene = Scene.objects.get()
    assert scene.disengagement_count == 1
    assert list(Disengagement.objects.values_list("t_s", "kind")) == [(12.3, "driver_override")]


def test_reingesting_same_manifest_changes_nothing(manifest):
    manifest_ingest(manifest_uri=str(manifest))
    before = list(Scene.objects.order_by("pk").values("pk", "updated_at"))
    report = manifest_ingest(manifest_uri=str(manifest))
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3)
    assert list(Scene.objects.order_by("pk").values("pk", "updated_at")) == before


def test_reingesting_changed_scene_updates_it(tmp_path, manifest):
    manifest_ingest(manifest_uri=str(manifest))
    changed = scene_record(1, tags=["rain"], disengagements=[{"t_s": 1.0, "kind": "x"}])
    write_manifest(manifest, [scene_record(0), changed, scene_record(2)])
    report = manifest_ingest(manifest_uri=str(manifest))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    scene = Scene.objects.get(scene_id=changed["scene_id"])
    assert scene.tags == ["rain"]
    assert scene.disengagements.count() == 1


def test_invalid_lines_are_reported_with_line_numbers(tmp_path):
    path = write_manifest(
        tmp_path / "m.jsonl",
        [scene_record(0), "{broken", scene_record(1, duration_s=-1), scene_record(2)],
    )
    report = manifest_ingest(manifest_uri=str(path))
    assert report.inserted == 2
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejected] == [
        (2, "not valid JSON"),
        (3, "duration_s"),
    ]


def test_duplicate_scene_id_in_one_manifest_is_rejected(tmp_path):
    path = write_manifest(tmp_path / "m.jsonl", [scene_record(0), scene_record(0)])
    report = manifest_ingest(manifest_uri=str(path))
    assert report.inserted == 1
    assert report.rejected[0].reason == "scene_id: duplicate of line 1"


def test_drive_of_another_vehicle_is_rejected(tmp_path):
    other = scene_record(1, vehicle_id="veh-99")
    path = write_manifest(tmp_path / "m.jsonl", [scene_record(0), other])
    report = manifest_ingest(manifest_uri=str(path), batch_size=1)
    assert report.inserted == 1
    assert "belongs to vehicle veh-07" in report.rejected[0].reason


def test_rejected_line_does_not_damage_existing_scene(tmp_path, manifest):
    manifest_ingest(manifest_uri=str(manifest))
    write_manifest(manifest, [scene_record(0, duration_s="long")])
    manifest_ingest(manifest_uri=str(manifest))
    assert Scene.objects.get(scene_id=scene_record(0)["scene_id"]).duration_s == 20.0


def test_failure_mid_batch_leaves_no_half_written_scene(manifest, monkeypatch):
    real_insert = writer.write_batch
    calls = {"n": 0}

    def failing_second_batch(records, uri):
        calls["n"] += 1
        if calls["n"] == 2:
            real_insert(records, uri)  # scenes written, then the batch dies
            raise DatabaseError("connection lost")
        return real_insert(records, uri)

    monkeypatch.setattr("catalog.ingest.service.write_batch", failing_second_batch)
    with pytest.raises(DatabaseError):
        manifest_ingest(manifest_uri=str(manifest), batch_size=2)
    assert Scene.objects.count() == 2
    assert SceneSignals.objects.count() == 2


def test_listeners_hear_about_new_and_changed_scenes_after_commit(
    manifest, django_capture_on_commit_callbacks
):
    heard = []
    hooks.register_scenes_changed(heard.extend)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            manifest_ingest(manifest_uri=str(manifest))
        with django_capture_on_commit_callbacks(execute=True):
            manifest_ingest(manifest_uri=str(manifest))
    finally:
        hooks._scenes_changed.remove(heard.extend)
    assert sorted(heard) == sorted(Scene.objects.values_list("pk", flat=True))


def test_ingest_from_s3(s3):
    client = boto3.client("s3")
    body = "\n".join(json.dumps(scene_record(i)) for i in range(2))
    client.put_object(Bucket="catalog-test", Key="fleet/manifest.jsonl", Body=body.encode())
    report = manifest_ingest(manifest_uri=f"{s3}/fleet/manifest.jsonl")
    assert report.inserted == 2
    scene = Scene.objects.get(scene_id=scene_record(0)["scene_id"])
    assert scene.cameras["front_wide"] == f"{s3}/fleet/videos/0/front_wide.mp4"


def test_ingest_parquet_with_same_columns(tmp_path):
    records = [scene_record(i) for i in range(2)]
    for record in records:
        record["extra"] = json.dumps(record["extra"])
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), buffer)
    path = tmp_path / "m.parquet"
    path.write_bytes(buffer.getvalue())
    report = manifest_ingest(manifest_uri=str(path))
    assert (report.inserted, report.rejected) == (2, [])
    assert Scene.objects.get(scene_id=records[0]["scene_id"]).extra == {"route": "osaki-loop"}


def test_ingest_command_exits_1_when_a_line_is_rejected(tmp_path, capsys):
    path = write_manifest(tmp_path / "m.jsonl", [scene_record(0), "{"])
    with pytest.raises(SystemExit) as exit_info:
        call_command("ingest", str(path), "--no-progress")
    assert exit_info.value.code == 1
    assert "line 2" in capsys.readouterr().out


def test_ingest_command_succeeds_on_clean_manifest(manifest, capsys):
    call_command("ingest", str(manifest), "--no-progress")
    assert "inserted:  3" in capsys.readouterr().out


def test_ingest_command_missing_manifest_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "ingest", str(tmp_path / "nope.jsonl")])
    assert exit_info.value.code == 2


def test_parallel_parsing_matches_inline(tmp_path, monkeypatch):
    records = [scene_record(i) for i in range(9)]
    records[4] = "{broken"
    records[6] = scene_record(6, duration_s=-1)
    path = write_manifest(tmp_path / "m.jsonl", records)
    monkeypatch.setattr("catalog.ingest.reader.READ_BYTES", 8192)  # a few lines per task
    monkeypatch.setattr("catalog.ingest.reader.BLOCK_BYTES", 20_000)
    parallel = manifest_ingest(manifest_uri=str(path), workers=2, batch_size=3)
    parallel_rows = list(
        Scene.objects.order_by("scene_id").values_list("scene_id", "max_speed_mps")
    )
    Scene.objects.all().delete()
    inline = manifest_ingest(manifest_uri=str(path), workers=1)
    assert (
        (parallel.inserted, parallel.rejected)
        == (inline.inserted, inline.rejected)
        == (7, parallel.rejected)
    )
    assert [r.line for r in parallel.rejected] == [5, 7]
    assert parallel_rows == list(
        Scene.objects.order_by("scene_id").values_list("scene_id", "max_speed_mps")
    )


def test_batch_retries_when_a_concurrent_ingest_inserted_the_same_scene(manifest, monkeypatch):
    manifest_ingest(manifest_uri=str(manifest))
    real_existing = writer._existing
    calls = {"n": 0}

    def missed_concurrent_insert(cursor, scene_ids):
        calls["n"] += 1
        return {} if calls["n"] == 1 else real_existing(cursor, scene_ids)

    monkeypatch.setattr(writer, "_existing", missed_concurrent_insert)
    report = manifest_ingest(manifest_uri=str(manifest))
    assert calls["n"] == 2
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3)
    assert Scene.objects.count() == 3


def test_changed_scene_gets_its_new_signals_and_disengagements(tmp_path, manifest):
    manifest_ingest(manifest_uri=str(manifest))
    faster = scene_record(0, disengagements=[{"t_s": 2.0, "kind": "brake"}])
    faster["signals"]["speed_mps"] = [20.0] * 200
    write_manifest(manifest, [faster])
    manifest_ingest(manifest_uri=str(manifest))
    scene = Scene.objects.get(scene_id=faster["scene_id"])
    assert scene.max_speed_mps == 20.0
    assert SceneSignals.objects.filter(scene=scene).count() == 1
    assert list(scene.disengagements.values_list("t_s", "kind")) == [(2.0, "brake")]


def test_text_with_copy_delimiters_round_trips(tmp_path):
    awkward = 'tab\there, "quoted", back\\slash, {brace}, NULL'
    record = scene_record(
        tags=[awkward, "plain"],
        extra={"note": "line\nbreak\\", "tab": "\t"},
        disengagements=[{"t_s": 1.5, "kind": "driver\toverride\\"}],
    )
    path = write_manifest(tmp_path / "m.jsonl", [record])
    assert manifest_ingest(manifest_uri=str(path)).inserted == 1
    scene = Scene.objects.get()
    assert scene.tags == [awkward, "plain"]
    assert scene.extra == {"note": "line\nbreak\\", "tab": "\t"}
    assert scene.disengagements.get().kind == "driver\toverride\\"


def test_ingest_stores_the_grid_cells_of_the_track(manifest):
    manifest_ingest(manifest_uri=str(manifest))
    scene = Scene.objects.get(scene_id=scene_record(0)["scene_id"])
    assert scene.track_cells == geo.track_cells(scene.track_lat, scene.track_lon)
    assert len(scene.track_lat) == 21  # 1 Hz over 20 s, last point kept
