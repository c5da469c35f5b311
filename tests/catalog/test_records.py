"""One test per validation rule of a manifest record, and the derived attributes."""

from zoneinfo import ZoneInfo

import pytest

from catalog.ingest.records import RecordError, parse_record
from tests.manifests import scene_record

TOKYO = ZoneInfo("Asia/Tokyo")
BASE = "file:///data/fleet/manifest.jsonl"


def parse(record):
    return parse_record(record, manifest_uri=BASE, tz=TOKYO)


def rejects(record, match):
    with pytest.raises(RecordError, match=match):
        parse(record)


def without(field):
    record = scene_record()
    del record[field]
    return record


def test_valid_record_parses():
    assert parse(scene_record()).scene_id == "veh-07_20261128T093000_000"


@pytest.mark.parametrize("field", ["scene_id", "vehicle_id", "start_time", "duration_s", "cameras"])
def test_required_field_missing_is_rejected(field):
    rejects(without(field), f"{field}: required")


def test_drive_id_is_optional():
    assert parse(without("drive_id")).drive_id is None


def test_non_object_line_is_rejected():
    rejects([1, 2], "expected a JSON object")


def test_unknown_field_is_rejected():
    rejects(scene_record(speed=3), "unknown field")


def test_scene_id_with_slash_is_rejected():
    rejects(scene_record(scene_id="a/b"), "scene_id")


def test_scene_id_with_a_final_newline_is_rejected():
    rejects(scene_record(scene_id="a\n"), "scene_id")


def test_start_time_without_offset_is_rejected():
    rejects(scene_record(start_time="2026-11-28T09:30:00"), "no UTC offset")


def test_start_time_not_rfc3339_is_rejected():
    rejects(scene_record(start_time="yesterday"), "not RFC 3339")


@pytest.mark.parametrize("duration", [0, -1, "20", True, 10_000])
def test_bad_duration_is_rejected(duration):
    rejects(scene_record(duration_s=duration), "duration_s")


def test_empty_cameras_is_rejected():
    rejects(scene_record(cameras={}), "cameras")


@pytest.mark.parametrize("name", ["Front Wide", "front\n"])
def test_bad_camera_name_is_rejected(name):
    rejects(scene_record(cameras={name: "a.mp4"}), "bad camera name")


def test_camera_uri_must_be_string():
    rejects(scene_record(cameras={"front_wide": 3}), "cameras.front_wide")


def test_relative_camera_uri_resolves_against_manifest():
    rec = parse(scene_record())
    assert rec.cameras["front_wide"] == "file:///data/fleet/videos/0/front_wide.mp4"


def test_relative_camera_uri_resolves_against_s3_manifest():
    rec = parse_record(scene_record(), manifest_uri="s3://b/fleet/m.jsonl", tz=TOKYO)
    assert rec.cameras["rear"] == "s3://b/fleet/videos/0/rear.mp4"


def test_tags_must_be_strings():
    rejects(scene_record(tags=["ok", 3]), "tags")


def test_extra_must_be_object():
    rejects(scene_record(extra=[1]), "extra")


def test_disengagement_outside_scene_is_rejected():
    rejects(scene_record(disengagements=[{"t_s": 25.0, "kind": "x"}]), "outside")


def test_disengagement_without_kind_is_rejected():
    rejects(scene_record(disengagements=[{"t_s": 2.0}]), "kind")


def test_signal_channels_of_different_length_are_rejected():
    record = scene_record()
    record["signals"]["brake"] = [0.0] * 10
    rejects(record, "samples, but other channels")


def test_unknown_signal_channel_is_rejected():
    record = scene_record()
    record["signals"]["rpm"] = [0.0] * 200
    rejects(record, "unknown channel")


def test_signals_not_covering_duration_are_rejected():
    record = scene_record()
    record["signals"] = {"hz": 10, "speed_mps": [1.0] * 50}
    rejects(record, "do not cover")


def test_non_numeric_signal_is_rejected():
    record = scene_record()
    record["signals"]["speed_mps"] = ["fast"] * 200
    rejects(record, "signals.speed_mps")


def test_bad_hz_is_rejected():
    record = scene_record()
    record["signals"]["hz"] = 0
    rejects(record, "signals.hz")


def test_derived_speed_attributes():
    rec = parse(scene_record())
    assert rec.max_speed_mps == pytest.approx(12.0, abs=0.01)
    assert 9.0 < rec.mean_speed_mps < 11.0


def test_max_deceleration_is_positive():
    record = scene_record()
    record["signals"]["accel_mps2"] = [0.0] * 100 + [-4.5] * 100
    assert parse(record).max_decel_mps2 == pytest.approx(4.5)


def test_gnss_fix_rate_counts_fixed_samples():
    record = scene_record()
    record["signals"]["gnss_fix"] = [1] * 150 + [0] * 50
    assert parse(record).gnss_fix_rate == pytest.approx(0.75)


def test_track_skips_samples_without_fix():
    record = scene_record()
    record["signals"]["gnss_fix"] = [0] * 10 + [1] * 190
    record["signals"]["lat"][0] = None
    rec = parse(record)
    assert rec.start_lat == pytest.approx(35.5786 + 10e-5)
    assert len(rec.track_lat) == 20  # ~1 point per second


def test_local_hour_uses_catalog_timezone():
    assert parse(scene_record(start_time="2026-11-28T23:10:00+00:00")).local_hour == 8


def test_content_hash_is_stable_and_sensitive():
    assert parse(scene_record()).content_sha256 == parse(scene_record()).content_sha256
    assert parse(scene_record(tags=["rain"])).content_sha256 != parse(scene_record()).content_sha256
