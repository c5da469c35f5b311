"""A synthetic fleet: vehicles, drives, 20 s scenes, manifest lines and camera videos.

`iter_scenes(n, seed)` yields manifest records (DESIGN §3) with signal channels as numpy
arrays (orjson writes them natively); `build_fleet` writes them as JSON Lines next to the
rendered videos. Everything is a pure function of the seed.
"""

import math
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import orjson

from catalog.demo.driving import HZ, ROUTE_WEIGHTS, ROUTES, Route, simulate_drive
from catalog.demo.render import CAMERAS, render_scene_videos, video_path

SCENE_S = 20
SAMPLES_PER_SCENE = SCENE_S * HZ
JST = timezone(timedelta(hours=9))
FIRST_DAY = date(2026, 11, 2)
MAX_SCENES_PER_DRIVE = 45  # 15 minutes
# Relative weight of each start hour: the fleet drives mostly by day, but enough at
# night (19:00-05:00) for night scenes to be common.
HOUR_WEIGHTS = np.array([0.5 if (h >= 19 or h < 5) else 1.0 for h in range(24)])
HOUR_WEIGHTS /= HOUR_WEIGHTS.sum()


@dataclass(frozen=True, slots=True)
class DrivePlan:
    vehicle_id: str
    drive_id: str
    start: datetime
    n_scenes: int
    route: Route
    weather: str  # "clear" or "rain"
    seed: int


def plan_fleet(n_scenes: int, seed: int) -> list[DrivePlan]:
    """Split `n_scenes` into drives: one per vehicle and day, spread over days and hours."""
    rng = np.random.default_rng([seed, 0])
    n_vehicles = 1 if n_scenes < 3 else int(np.clip(round(math.sqrt(n_scenes) / 1.6), 2, 12))
    vehicles = [f"veh-{i:02d}" for i in range(1, n_vehicles + 1)]
    mean_len = float(np.clip(n_scenes / 8, 2, MAX_SCENES_PER_DRIVE * 2 / 3))
    plans: list[DrivePlan] = []
    remaining, day = n_scenes, FIRST_DAY
    while remaining > 0:
        weather = "rain" if rng.random() < 0.25 else "clear"
        for vehicle in vehicles:
            if remaining <= 0 or rng.random() > 0.75:
                continue
            length = int(rng.integers(max(1, int(mean_len / 2)), int(mean_len * 1.5) + 1))
            length = min(length, remaining, MAX_SCENES_PER_DRIVE)
            latest = 86_400 - length * SCENE_S  # a drive ends before midnight
            start_s = int(rng.choice(24, p=HOUR_WEIGHTS)) * 3600 + int(rng.integers(0, 3600))
            start_s = min(start_s, latest)
            start = datetime(day.year, day.month, day.day, tzinfo=JST) + timedelta(seconds=start_s)
            route = ROUTES[int(rng.choice(len(ROUTES), p=ROUTE_WEIGHTS / ROUTE_WEIGHTS.sum()))]
            plans.append(
                DrivePlan(
                    vehicle_id=vehicle,
                    drive_id=f"{vehicle}_{day:%Y%m%d}",
                    start=start,
                    n_scenes=length,
                    route=route,
                    weather=weather,
                    seed=int(rng.integers(2**62)),
                )
            )
            remaining -= length
        day += timedelta(days=1)
    return plans


def _is_night(hour: int) -> bool:
    return hour >= 19 or hour < 5


def drive_scenes(plan: DrivePlan) -> Iterator[dict]:
    """The manifest records of one drive, in order."""
    rng = np.random.default_rng(plan.seed)
    n = plan.n_scenes * SAMPLES_PER_SCENE
    sig = simulate_drive(rng, plan.route, n)
    channels = {
        "speed_mps": np.round(sig.speed, 3),
        "accel_mps2": np.round(sig.accel, 3),
        "steering_angle_deg": np.round(sig.steering, 2),
        "brake": np.round(sig.brake, 3),
        "throttle": np.round(sig.throttle, 3),
        "lat": np.round(sig.lat, 7),
        "lon": np.round(sig.lon, 7),
        "gnss_fix": sig.fix,
    }
    events: dict[int, list[dict]] = {}
    for i, kind in sig.disengagements:
        t_s = round((i % SAMPLES_PER_SCENE) / HZ, 1)
        events.setdefault(i // SAMPLES_PER_SCENE, []).append({"t_s": t_s, "kind": kind})
    route = plan.route
    seeds = rng.integers(2**31, size=plan.n_scenes)
    pedestrians = rng.random(plan.n_scenes)
    for k in range(plan.n_scenes):
        start = plan.start + timedelta(seconds=k * SCENE_S)
        scene_id = f"{plan.vehicle_id}_{start:%Y%m%dT%H%M%S}_{k:03d}"
        sl = slice(k * SAMPLES_PER_SCENE, (k + 1) * SAMPLES_PER_SCENE)
        tags = [route.road]
        if _is_night(start.hour):
            tags.append("night")
        if plan.weather == "rain":
            tags.append("rain")
        if route.road == "urban":
            junction = sig.stop[sl].any() or sig.turn[sl].any()
            if junction:
                tags.append("intersection")
            if pedestrians[k] < route.pedestrian_rate + (0.2 if junction else 0.0):
                tags.append("pedestrians")
        if sig.tunnel[sl].any():
            tags.append("tunnel")
        if sig.hard[sl].any():
            tags.append("hard_braking")
        yield {
            "scene_id": scene_id,
            "vehicle_id": plan.vehicle_id,
            "drive_id": plan.drive_id,
            "start_time": start.isoformat(),
            "duration_s": float(SCENE_S),
            "cameras": {camera: video_path(scene_id, camera) for camera in CAMERAS},
            "signals": {"hz": HZ, **{name: ch[sl] for name, ch in channels.items()}},
            "disengagements": events.get(k, []),
            "tags": tags,
            "extra": {
                "route": route.name,
                "district": route.district,
                "weather": plan.weather,
                "synthetic_seed": int(seeds[k]),
            },
        }


def iter_scenes(n_scenes: int, seed: int = 0) -> Iterator[dict]:
    for plan in plan_fleet(n_scenes, seed):
        yield from drive_scenes(plan)


def manifest_line(record: dict) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"


@dataclass(frozen=True, slots=True)
class FleetReport:
    manifest: Path
    scenes: int
    videos: int
    seconds: float


def _render_task(args: tuple[dict, str, int]) -> str:
    record, out_dir, fps = args
    render_scene_videos(record, Path(out_dir), fps=fps)
    return record["scene_id"]


def build_fleet(
    n_scenes: int,
    out: Path,
    *,
    seed: int = 0,
    video: bool = True,
    workers: int = 2,
    fps: int = 5,
    progress: bool = True,
) -> FleetReport:
    """Write `out/manifest.jsonl` and, unless `video` is false, every camera video.

    Videos are rendered first and the manifest is renamed into place last, so a manifest
    never names a video that was not written.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    partial = out / "manifest.jsonl.part"
    bar = tqdm(total=n_scenes, unit="scene", file=sys.stderr, disable=not progress)
    videos = 0
    with partial.open("wb", buffering=1 << 20) as fh:
        if not video:
            for record in iter_scenes(n_scenes, seed):
                fh.write(manifest_line(record))
                bar.update()
        else:
            records = list(iter_scenes(n_scenes, seed))
            for record in _render_all(records, out, workers=workers, fps=fps):
                bar.update()
                videos += len(record["cameras"])
            for record in records:
                fh.write(manifest_line(record))
    bar.close()
    os.replace(partial, manifest)
    return FleetReport(manifest, n_scenes, videos, time.perf_counter() - started)


def _render_all(records: list[dict], out: Path, *, workers: int, fps: int) -> Iterator[dict]:
    by_id = {r["scene_id"]: r for r in records}
    tasks = [(r, str(out), fps) for r in records]
    if workers <= 1 or len(records) < 2:
        for task in tasks:
            yield by_id[_render_task(task)]
        return
    # spawn, not fork: the parent may hold database connections and server threads.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for scene_id in pool.map(_render_task, tasks):
            yield by_id[scene_id]
