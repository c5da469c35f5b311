"""Hostile and unlucky manifest lines: each is one rejected line with a reason naming its
field, the lines around it are ingested, and nothing reaches the database half-checked."""

import gzip
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from catalog.ingest import reader, records
from catalog.ingest.service import manifest_ingest
from catalog.models import Disengagement, Scene
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


POISONS = {
    "nul_in_tag": ({"tags": ["rain\x00"]}, "tags:"),
    "nul_in_extra_value": ({"extra": {"route": "osaki\x00"}}, "extra:"),
    "nul_in_extra_key": ({"extra": {"ro\x00ute": 1}}, "extra:"),
    "nul_nested_in_extra": ({"extra": {"a": [{"b": ["\x00"]}]}}, "extra:"),
    "extra_too_deep": ({"extra": _deep(300)}, "extra: nested deeper"),
    "nul_in_kind": (
        {"disengagements": [{"t_s": 1.0, "kind": "brake\x00"}]},
        "disengagements[0].kind:",
    ),
    "nul_in_scene_id": ({"scene_id": "veh\x00-1"}, "scene_id:"),
    "nul_in_vehicle_id": ({"vehicle_id": "veh\x00"}, "vehicle_id:"),
    "nul_in_drive_id": ({"drive_id": "d\x00"}, "drive_id:"),
    "nul_in_camera_uri": ({"cameras": {"front_wide": "v/a\x00.mp4"}}, "cameras.front_wide:"),
    "end_time_overflows": ({"start_time": "9999-12-31T23:59:50+00:00"}, "start_time:"),
    "utc_overflows": ({"start_time": "9999-12-31T23:59:59-05:00"}, "start_time:"),
    "year_one": ({"start_time": "0001-01-01T00:00:00+00:00"}, "start_time:"),
    "year_2201": ({"start_time": "2201-01-01T00:00:00+00:00"}, "start_time:"),
    "ftp_camera": ({"cameras": {"front_wide": "ftp://evil/x.mp4"}}, "cameras.front_wide:"),
    "http_camera": ({"cameras": {"front_wide": "http://x/a.mp4"}}, "cameras.front_wide:"),
    "long_kind": ({"disengagements": [{"t_s": 1.0, "kind": "k" * 65}]}, "disengagements[0].kind:"),
    "long_tag": ({"tags": ["t" * 65]}, "tags:"),
}


@pytest.mark.parametrize("name", sorted(POISONS))
def test_poison_line_is_rejected_and_its_neighbours_land(tmp_path, name):
    overrides, reason = POISONS[name]
    lines = [scene_record(0), scene_record(1, **overrides), scene_record(2)]
    report = manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", lines)))
    assert [r.line for r in report.rejected] == [2]
    assert report.rejected[0].reason.startswith(reason)
    assert "\x00" not in report.rejected[0].reason
    assert sorted(Scene.objects.values_list("scene_id", flat=True)) == [
        scene_record(0)["scene_id"],
        scene_record(2)["scene_id"],
    ]


def test_nul_in_an_unknown_field_name_is_reported_printably(tmp_path):
    record = {**scene_record(1), "colo\x00ur": "red"}
    report = manifest_ingest(
        manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [scene_record(0), record]))
    )
    assert report.rejected[0].reason == "unknown field(s): colo\\x00ur"
    assert Scene.objects.count() == 1


def test_huge_rejected_value_is_reported_shortly(tmp_path):
    record = scene_record(1, start_time="x" * 100_000)
    report = manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [record])))
    assert report.rejected[0].reason.startswith("start_time:")
    assert len(report.rejected[0].reason) <= 300


def test_html_in_text_is_stored_as_typed(tmp_path):
    kind = '<img src=x onerror="alert(1)">'
    record = scene_record(0, disengagements=[{"t_s": 1.0, "kind": kind}])
    manifest_ingest(manifest_uri=str(write_manifest(tmp_path / "m.jsonl", [record])))
    assert Disengagement.objects.get().kind == kind


def _parquet(path, rows: list[dict], extra_type) -> str:
    columns = {
        name: [row[name] for row in rows]
        for name in ("scene_id", "vehicle_id", "start_time", "duration_s")
    }
    table = pa.table({
        **columns,
        "cameras": pa.array(
            [row["cameras"] for row in rows], pa.map_(pa.string(), pa.string())
        ),
        "extra": pa.array([row["extra"] for row in rows], extra_type),
    })  # fmt: skip
    pq.write_table(table, path)
    return str(path)


@pytest.mark.parametrize(
    "extra_type, poisoned, reason",
    [
        (pa.map_(pa.int64(), pa.string()), [(7, "x")], "extra: key 7"),
        (pa.struct([("at", pa.timestamp("s"))]), {"at": 0}, "extra: datetime"),
        (pa.map_(pa.string(), pa.string()), [("k", "v\x00")], "extra: a string"),
    ],
)
def test_parquet_values_json_cannot_hold_are_rejected(tmp_path, extra_type, poisoned, reason):
    def row(i, extra):
        record = scene_record(i)
        return {**record, "extra": extra}

    clean = [] if "map" in str(extra_type) else {"at": None}
    path = _parquet(tmp_path / "m.parquet", [row(0, clean), row(1, poisoned)], extra_type)
    report = manifest_ingest(manifest_uri=path)
    assert [r.line for r in report.rejected] == [2]
    assert report.rejected[0].reason.startswith(reason)
    assert Scene.objects.count() == 1


def test_a_value_validation_missed_costs_only_its_line(tmp_path, monkeypatch):
    # Should a rule ever be missing, PostgreSQL's refusal is narrowed down to the line.
    monkeypatch.setattr(records, "_text_ok", lambda text: True)
    lines = [scene_record(i) for i in range(5)]
    lines[3]["tags"] = ["rain\x00"]
    report = manifest_ingest(
        manifest_uri=str(write_manifest(tmp_path / "m.jsonl", lines)), batch_size=5
    )
    assert [r.line for r in report.rejected] == [4]
    assert report.rejected[0].reason.startswith("refused by the database:")
    assert report.inserted == 4
    assert Scene.objects.count() == 4


def test_manifest_larger_than_the_bound_is_refused(tmp_path, settings):
    path = write_manifest(tmp_path / "m.jsonl", [scene_record(i) for i in range(3)])
    settings.CATALOG_INGEST_MAX_MANIFEST_BYTES = path.stat().st_size - 1
    with pytest.raises(reader.ManifestError, match="larger than"):
        manifest_ingest(manifest_uri=str(path))
    assert not Scene.objects.exists()


def test_gzip_bound_counts_the_unpacked_bytes(tmp_path, settings):
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"\n" * 5_000_000)  # a few KB packed
    settings.CATALOG_INGEST_MAX_MANIFEST_BYTES = 1_000_000
    assert path.stat().st_size < 1_000_000
    with pytest.raises(reader.ManifestError, match="larger than"):
        manifest_ingest(manifest_uri=str(path))


def test_damaged_gzip_is_a_manifest_error(tmp_path):
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps(scene_record(0)).encode())[:-12] + b"garbage!")
    with pytest.raises(reader.ManifestError):
        manifest_ingest(manifest_uri=str(path))


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo", "folder"])
def test_non_regular_manifest_is_refused_before_reading(tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "fifo")
        os.mkfifo(target)  # no writer: reading it would wait forever
    elif target == "folder":
        target = str(tmp_path)
    with pytest.raises(OSError, match="not a regular file"):
        manifest_ingest(manifest_uri=target)


def test_command_lists_each_poison_line_and_exits_1(tmp_path, capsys):
    lines = [scene_record(0)]
    lines += [scene_record(i + 1, **POISONS[name][0]) for i, name in enumerate(sorted(POISONS))]
    lines.append(scene_record(len(POISONS) + 1))
    path = write_manifest(tmp_path / "m.jsonl", lines)
    with pytest.raises(SystemExit) as exit_info:
        call_command("ingest", str(path), "--no-progress")
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert f"rejected:  {len(POISONS)}" in out
    assert "inserted:  2" in out
    assert "Traceback" not in out + err
    for number in range(2, len(POISONS) + 2):
        assert f"  line {number}" in out
    assert Scene.objects.count() == 2


@pytest.mark.parametrize("manifest", ["/dev/zero", "ftp://host/m.jsonl", "/no/such.jsonl"])
def test_command_exits_2_with_one_line_for_an_unreadable_manifest(manifest, capsys):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as error:
        call_command("ingest", manifest, "--no-progress")
    assert error.value.returncode == 2
    assert "\n" not in str(error.value)
