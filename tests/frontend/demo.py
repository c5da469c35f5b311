"""Demo scenes for browser tests and screenshots: real small MP4s (PyAV), manifest
records with plausible 10 Hz driving signals, ingested and embedded by the real services
(test-tiny model), so pages show real thumbnails, videos, signals and search results."""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from catalog.ingest.service import manifest_ingest
from catalog.models import Scene
from embeddings.services import scene_embed
from tests.embeddings.videos import write_video
from tests.manifests import write_manifest

CAMERAS = (
    "front_wide",
    "front_narrow",
    "front_left",
    "front_right",
    "side_left",
    "side_right",
    "rear",
)
HZ = 10
DURATION_S = 20.0


@dataclass
class DemoScene:
    scene_id: str
    vehicle: str
    start: datetime  # aware
    cameras: tuple[str, ...] = CAMERAS[:2]
    seed: int = 0
    cruise_mps: float = 12.0
    brake_at_s: float | None = None
    disengagements: list[tuple[float, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    origin: tuple[float, float] = (35.5786, 139.7497)  # Heiwajima
    heading_deg: float = 40.0
    gnss_outage: tuple[float, float] | None = None


def signals(demo: DemoScene) -> dict:
    """Accelerate to cruise, weave a little, brake hard at `brake_at_s` and recover."""
    n = int(DURATION_S * HZ)
    t = np.arange(n) / HZ
    speed = demo.cruise_mps * (1 - np.exp(-(t + 2) / 3)) + 0.6 * np.sin(t / 2.3 + demo.seed)
    if demo.brake_at_s is not None:
        dip = np.clip(1 - np.abs(t - demo.brake_at_s - 1.5) / 2.5, 0, 1)
        speed = speed * (1 - 0.75 * dip)
    speed = np.clip(speed, 0, None)
    accel = np.gradient(speed, 1 / HZ)
    steering = 12 * np.sin(t / 3.1 + demo.seed) + 3 * np.sin(t * 1.7)
    brake = np.clip(-accel / 6, 0, 1)
    throttle = np.clip(accel / 3 + 0.15, 0, 1) * (brake < 0.05)
    heading = np.radians(demo.heading_deg + np.cumsum(steering) / HZ * 0.8)
    dist = np.cumsum(speed) / HZ
    step = np.diff(dist, prepend=0)
    lat = demo.origin[0] + np.cumsum(step * np.cos(heading)) / 111_320
    lon = demo.origin[1] + np.cumsum(step * np.sin(heading)) / (
        111_320 * math.cos(math.radians(demo.origin[0]))
    )
    fix = np.ones(n)
    if demo.gnss_outage:
        fix[(t >= demo.gnss_outage[0]) & (t < demo.gnss_outage[1])] = 0
    as_list = lambda a: [round(float(x), 6) for x in a]  # noqa: E731
    return {
        "hz": HZ,
        "speed_mps": as_list(speed),
        "accel_mps2": as_list(accel),
        "steering_angle_deg": as_list(steering),
        "brake": as_list(brake),
        "throttle": as_list(throttle),
        "lat": [None if f == 0 else v for v, f in zip(as_list(lat), fix, strict=True)],
        "lon": [None if f == 0 else v for v, f in zip(as_list(lon), fix, strict=True)],
        "gnss_fix": [int(f) for f in fix],
    }


def record(demo: DemoScene, videos: dict[str, Path]) -> dict:
    return {
        "scene_id": demo.scene_id,
        "vehicle_id": demo.vehicle,
        "drive_id": f"{demo.vehicle}_{demo.start:%Y%m%d}",
        "start_time": demo.start.isoformat(),
        "duration_s": DURATION_S,
        "cameras": {camera: videos[camera].as_uri() for camera in demo.cameras},
        "signals": signals(demo),
        "disengagements": [{"t_s": t, "kind": kind} for t, kind in demo.disengagements],
        "tags": demo.tags,
    }


def write_videos(folder: Path, demo: DemoScene, *, size=(192, 108)) -> dict[str, Path]:
    """One MP4 per camera; reused when it exists (video seeds are per scene seed)."""
    width, height = size
    videos = {}
    for index, camera in enumerate(demo.cameras):
        path = folder / f"seed{demo.seed}" / f"{camera}.mp4"
        if not path.exists():
            write_video(path, seed=demo.seed * 10 + index, width=width, height=height)
        videos[camera] = path
    return videos


def build(folder: Path, demos: list[DemoScene], *, size=(192, 108)) -> list[Scene]:
    """Write videos and a manifest, ingest it and embed every scene (test-tiny)."""
    records = [record(d, write_videos(folder / "videos", d, size=size)) for d in demos]
    manifest = write_manifest(folder / "manifest.jsonl", records)
    report = manifest_ingest(manifest_uri=str(manifest))
    assert not report.rejected, report.rejected
    scenes = list(Scene.objects.filter(scene_id__in=[d.scene_id for d in demos]))
    for scene in scenes:
        outcome = scene_embed(scene_pk=scene.pk)
        assert outcome.state in ("done", "skipped"), outcome
    return scenes


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Tokyo"))


def small_fleet() -> list[DemoScene]:
    """Four scenes on two vehicles; one has all seven cameras and two disengagements."""
    return [
        DemoScene(
            "veh-01_20261128T093000_000",
            "veh-01",
            tokyo(28, 9, 30),
            cameras=CAMERAS,
            seed=1,
            brake_at_s=11.0,
            disengagements=[(12.3, "driver_override"), (16.0, "planner_fault")],
            tags=["urban", "rain"],
        ),
        DemoScene(
            "veh-01_20261128T093020_001",
            "veh-01",
            tokyo(28, 9, 30) + timedelta(seconds=20),
            seed=2,
            tags=["urban"],
        ),
        DemoScene(
            "veh-02_20261128T220000_000",
            "veh-02",
            tokyo(28, 22),
            seed=3,
            cruise_mps=25.0,
            tags=["highway", "night"],
        ),
        DemoScene(
            "veh-02_20261128T221000_001",
            "veh-02",
            tokyo(28, 22, 10),
            seed=4,
            cruise_mps=24.0,
            brake_at_s=5.0,
            disengagements=[(6.5, "driver_override")],
            tags=["highway", "night"],
            gnss_outage=(8.0, 11.0),
        ),
    ]
