"""`manage.py demo_fleet`: the synthetic fleet's manifest (what `ingest` reads) and videos."""

import hashlib
import io
import itertools
import math
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np
import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.ingest.records import parse_record
from demo.fleet import build_fleet, iter_scenes
from demo.management.commands.demo_fleet import Command
from demo.render import CAMERAS, render_camera_video, render_scene_videos

SIGNALS = (
    "speed_mps", "accel_mps2", "steering_angle_deg", "brake", "throttle", "lat", "lon",
    "gnss_fix",
)  # fmt: skip
SCENE_ID = re.compile(r"^(veh-\d{2})_(\d{8}T\d{6})_(\d{3})$")


def read_manifest(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def manifest_only(folder: Path, scenes: int, seed: int = 0) -> list[dict]:
    build_fleet(scenes, folder, seed=seed, video=False, progress=False)
    return read_manifest(folder / "manifest.jsonl")


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, str]:
    """Two scenes with videos, through the command and its process pool."""
    folder = tmp_path_factory.mktemp("fleet")
    out = io.StringIO()
    call_command(
        "demo_fleet", "--scenes", "2", "--out", str(folder), "--seed", "5", "--workers", "2",
        "--no-progress", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return folder, out.getvalue()


# -- manifest -----------------------------------------------------------------------------


def test_manifest_lines_follow_the_design_contract(tmp_path):
    for scene in manifest_only(tmp_path, 3):
        vehicle, stamp, _ = SCENE_ID.match(scene["scene_id"]).groups()
        assert scene["vehicle_id"] == vehicle
        assert scene["drive_id"] == f"{vehicle}_{stamp[:8]}"
        start = datetime.fromisoformat(scene["start_time"])
        assert scene["start_time"].endswith("+09:00")
        assert start.strftime("%Y%m%dT%H%M%S") == stamp
        assert scene["duration_s"] == 20.0
        assert scene["cameras"] == {
            camera: f"videos/{scene['scene_id']}/{camera}.mp4" for camera in CAMERAS
        }
        signals = scene["signals"]
        assert set(signals) == {"hz", *SIGNALS}
        for name in SIGNALS:
            assert len(signals[name]) == scene["duration_s"] * signals["hz"], name
            assert all(v is None or isinstance(v, int | float) for v in signals[name]), name
        for d in scene["disengagements"]:
            assert 0 <= d["t_s"] <= scene["duration_s"] and isinstance(d["kind"], str)
        assert scene["tags"] and all(isinstance(tag, str) for tag in scene["tags"])
        assert isinstance(scene["extra"]["route"], str)


def test_ingest_validator_accepts_every_line(tmp_path):
    scenes = manifest_only(tmp_path, 60)
    manifest_uri = (tmp_path / "manifest.jsonl").as_uri()
    for scene in scenes:
        record = parse_record(scene, manifest_uri=manifest_uri, tz=ZoneInfo("Asia/Tokyo"))
        assert record.cameras["rear"].endswith(f"videos/{scene['scene_id']}/rear.mp4")
        assert record.signals_samples == 200


def test_gnss_outages_have_no_position(tmp_path):
    scenes = manifest_only(tmp_path, 300)
    samples = [
        (fix, lat, lon)
        for s in scenes
        for fix, lat, lon in zip(
            *(s["signals"][k] for k in ("gnss_fix", "lat", "lon")), strict=True
        )
    ]
    assert {fix for fix, _, _ in samples} == {0, 1}
    for fix, lat, lon in samples:
        assert (lat is None) == (lon is None) == (fix == 0)


def test_acceleration_is_the_derivative_of_speed(tmp_path):
    for scene in manifest_only(tmp_path, 50):
        speed = np.array(scene["signals"]["speed_mps"])
        accel = np.array(scene["signals"]["accel_mps2"])
        assert np.abs(np.diff(speed) * 10 - accel[:-1]).max() < 0.02
        assert speed.min() >= 0


def test_track_moves_with_speed_around_tokyo(tmp_path):
    for scene in manifest_only(tmp_path, 50):
        sig = scene["signals"]
        lat = np.array(sig["lat"], dtype=float)
        lon = np.array(sig["lon"], dtype=float)
        speed = np.array(sig["speed_mps"])
        if np.isnan(lat).all():
            continue  # the whole scene in a tunnel
        assert np.nanmin(lat) > 35.5 and np.nanmax(lat) < 35.75
        assert np.nanmin(lon) > 139.6 and np.nanmax(lon) < 139.85
        for i in range(0, 190, 10):  # each second: distance moved == speed integrated
            if np.isnan(lat[i]) or np.isnan(lat[i + 10]):
                continue
            north = (lat[i + 10] - lat[i]) * 111_320
            east = (lon[i + 10] - lon[i]) * 111_320 * math.cos(math.radians(lat[i]))
            assert abs(math.hypot(north, east) - speed[i : i + 10].sum() / 10) < 2.5


def test_fleet_spreads_over_vehicles_days_and_hours(tmp_path):
    scenes = manifest_only(tmp_path, 300)
    assert len({s["vehicle_id"] for s in scenes}) >= 3
    assert len({s["start_time"][:10] for s in scenes}) >= 2
    hours = {datetime.fromisoformat(s["start_time"]).hour for s in scenes}
    assert hours & {19, 20, 21, 22, 23, 0, 1, 2, 3, 4} and hours & set(range(8, 18))
    for s in scenes:
        night = datetime.fromisoformat(s["start_time"]).hour
        assert ("night" in s["tags"]) == (night >= 19 or night < 5)
    assert sum(bool(s["disengagements"]) for s in scenes) >= 3


def test_scenes_of_a_drive_follow_each_other(tmp_path):
    drives: dict[str, list[dict]] = {}
    for scene in manifest_only(tmp_path, 100):
        drives.setdefault(scene["drive_id"], []).append(scene)
    assert any(len(scenes) > 1 for scenes in drives.values())
    for scenes in drives.values():
        for k, (a, b) in enumerate(itertools.pairwise(scenes)):
            gap = datetime.fromisoformat(b["start_time"]) - datetime.fromisoformat(a["start_time"])
            assert gap == timedelta(seconds=20)
            assert b["scene_id"].endswith(f"_{k + 1:03d}")


def test_disengagements_are_likelier_when_braking_hard():
    scenes = list(iter_scenes(2000, seed=1))
    hard = [bool(s["disengagements"]) for s in scenes if "hard_braking" in s["tags"]]
    calm = [bool(s["disengagements"]) for s in scenes if "hard_braking" not in s["tags"]]
    assert len(hard) > 20
    assert np.mean(hard) > 3 * np.mean(calm)


def test_same_seed_gives_the_same_manifest_and_another_seed_does_not(tmp_path):
    a = manifest_only(tmp_path / "a", 20, seed=3)
    b = manifest_only(tmp_path / "b", 20, seed=3)
    c = manifest_only(tmp_path / "c", 20, seed=4)
    assert a == b
    assert a != c


def test_no_video_writes_only_the_manifest(tmp_path):
    call_command(
        "demo_fleet", "--scenes", "3", "--out", str(tmp_path), "--no-video", "--no-progress",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.jsonl"]
    assert len(read_manifest(tmp_path / "manifest.jsonl")) == 3


# -- videos -------------------------------------------------------------------------------


def test_command_prints_the_manifest_path_last(rendered):
    folder, stdout = rendered
    assert stdout.strip().splitlines()[-1] == str(folder / "manifest.jsonl")


def test_every_camera_video_is_written_where_the_manifest_says(rendered):
    folder, _ = rendered
    for scene in read_manifest(folder / "manifest.jsonl"):
        for uri in scene["cameras"].values():
            assert (folder / uri).is_file()


def test_videos_are_20_s_of_h264_at_256x144(rendered):
    folder, _ = rendered
    scene = read_manifest(folder / "manifest.jsonl")[0]
    for uri in scene["cameras"].values():
        with av.open(str(folder / uri)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert (stream.width, stream.height) == (256, 144)
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert container.duration / 1e6 == pytest.approx(20.0, abs=0.25)
            assert sum(1 for _ in container.decode(video=0)) == 100


def test_videos_seek_and_stream_in_browsers(rendered):
    folder, _ = rendered
    path = folder / read_manifest(folder / "manifest.jsonl")[0]["cameras"]["front_wide"]
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # index first: plays while loading
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keys = [
            float(p.pts * stream.time_base)
            for p in container.demux(stream)
            if p.is_keyframe and p.pts is not None
        ]
    assert keys[0] == 0 and max(np.diff(keys)) <= 1.0


def test_same_seed_renders_identical_files_in_any_process(rendered, tmp_path):
    folder, _ = rendered
    first = next(iter_scenes(2, seed=5))  # rendered here, in this process, not the pool
    render_scene_videos(first, tmp_path)
    ours = digests(tmp_path)
    assert ours == {k: v for k, v in digests(folder).items() if k in ours}
    assert len(ours) == 7


def test_scenes_and_cameras_look_different(rendered):
    folder, _ = rendered
    a, b = read_manifest(folder / "manifest.jsonl")

    def middle(scene: dict, camera: str) -> np.ndarray:
        frames = decode(folder / scene["cameras"][camera])
        return frames[len(frames) // 2].astype(float)

    def distance(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.abs(x - y).mean())

    assert distance(middle(a, "front_wide"), middle(b, "front_wide")) > 15
    front = middle(a, "front_wide")
    for camera in ("rear", "front_left", "rear_right", "front_narrow"):
        assert distance(front, middle(a, camera)) > 15, camera


def test_frames_change_while_driving(rendered):
    folder, _ = rendered
    for scene in read_manifest(folder / "manifest.jsonl"):
        frames = decode(folder / scene["cameras"]["front_wide"])
        moving = np.flatnonzero(np.array(scene["signals"]["speed_mps"][::2]) > 3)
        if len(moving) > 10:
            i = int(moving[len(moving) // 2])
            assert np.abs(frames[i].astype(float) - frames[i - 1]).mean() > 1
            return
    pytest.skip("no scene drove fast enough")


def short_scene(seed: int, **changes) -> dict:
    """A 2 s scene: rendering it takes a fraction of a second."""
    scene = next(iter_scenes(1, seed=seed))
    signals = {k: (v if k == "hz" else v[:20]) for k, v in scene["signals"].items()}
    return {**scene, "duration_s": 2.0, "signals": signals, **changes}


def test_same_record_renders_twin_videos_whatever_its_scene_id(tmp_path):
    scene = short_scene(11)
    renamed = {**scene, "scene_id": "twin_of_" + scene["scene_id"]}
    one = render_camera_video(scene, "front_wide", tmp_path / "a.mp4").read_bytes()
    two = render_camera_video(renamed, "front_wide", tmp_path / "b.mp4").read_bytes()
    assert one == two


def test_another_synthetic_seed_renders_another_video(tmp_path):
    scene = short_scene(11)
    other = {**scene, "extra": {**scene["extra"], "synthetic_seed": 12345}}
    one = render_camera_video(scene, "front_wide", tmp_path / "a.mp4")
    two = render_camera_video(other, "front_wide", tmp_path / "b.mp4")
    assert np.abs(decode(one)[5].astype(float) - decode(two)[5]).mean() > 10


def test_a_hand_written_record_without_signals_renders(tmp_path):
    scene = {
        "scene_id": "hand_made", "vehicle_id": "veh-99", "start_time": "2026-11-28T21:00:00+09:00",
        "duration_s": 1.0, "cameras": {}, "tags": ["night", "rain", "pedestrians"],
    }  # fmt: skip
    assert len(decode(render_camera_video(scene, "rear", tmp_path / "x.mp4"))) == 5


# -- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--scenes", "0"],
        ["--scenes", "-3"],
        ["--scenes", "2", "--workers", "0"],
        ["--scenes", "2", "--fps", "0"],
    ],
)
def test_bad_arguments_exit_with_code_2(tmp_path, args):
    with pytest.raises(CommandError) as error:
        call_command("demo_fleet", *args, "--out", str(tmp_path), stdout=io.StringIO())
    assert error.value.returncode == 2
    assert "--" in str(error.value)
    assert not any(tmp_path.iterdir())


def test_out_must_be_a_local_directory(tmp_path):
    file = tmp_path / "taken"
    file.write_text("x")
    for out in (str(file), "s3://bucket/fleet"):
        with pytest.raises(CommandError) as error:
            call_command("demo_fleet", "--scenes", "1", "--out", out, stdout=io.StringIO())
        assert error.value.returncode == 2


def test_unparsable_arguments_exit_with_code_2():
    parser = Command().create_parser("manage.py", "demo_fleet")
    parser.called_from_command_line = True
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--scenes", "many", "--out", "x"])
    assert exit_.value.code == 2


def test_fleet_has_a_gnss_outage_day_and_a_lone_low_vehicle(tmp_path):
    """The demo shows the GNSS gate at work: on the fleet's second day the carrier's RTK
    corrections fail for every vehicle; on other days a vehicle in tunnels may be low
    alone, which is no outage."""
    means: dict[tuple[str, str], list[float]] = {}
    for scene in manifest_only(tmp_path, 40):
        fix = np.asarray(scene["signals"]["gnss_fix"], dtype=float)
        means.setdefault((scene["start_time"][:10], scene["vehicle_id"]), []).append(fix.mean())
    low_by_day: dict[str, list[bool]] = {}
    for (day, _), rates in means.items():
        low_by_day.setdefault(day, []).append(float(np.mean(rates)) < 0.9)
    outage = {day for day, low in low_by_day.items() if sum(low) >= 2 and 2 * sum(low) >= len(low)}
    assert outage == {"2026-11-03"}
    assert any(sum(low) == 1 for day, low in low_by_day.items() if day not in outage)


def test_outage_drives_have_no_position_without_a_fix(tmp_path):
    for scene in manifest_only(tmp_path, 40):
        if scene["start_time"].startswith("2026-11-03"):
            fix = np.asarray(scene["signals"]["gnss_fix"])
            lat = np.array(scene["signals"]["lat"], dtype=float)
            assert np.isnan(lat[fix == 0]).all()
            assert np.isfinite(lat[fix == 1]).all()
