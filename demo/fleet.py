"""A synthetic fleet: vehicles, drives, 20 s scenes, manifest lines and camera videos.

`iter_scenes(n, seed)` yields manifest records (one scene line each) with signal channels as numpy
arrays (orjson writes them natively); `build_fleet` writes them as JSON Lines next to the
rendered videos. Everything is a pure function of the seed.
"""

import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

import numpy as np
import orjson

from demo.driving import HZ, ROUTE_WEIGHTS, ROUTES, Route, simulate_drive
from demo.render import CAMERAS, render_scene_videos

SCENE_S = 20
SAMPLES_PER_SCENE = SCENE_S * HZ
JST = timezone(timedelta(hours=9))
FIRST_DAY = date(2026, 11, 2)
MAX_SCENES_PER_DRIVE = 45  # 15 minutes
# Days (counted from FIRST_DAY) on which the carrier's RTK corrections fail: every drive
# of the day loses its GNSS fix most of the time, so the catalog finds an outage day.
OUTAGE_EVERY_DAYS = 30
OUTAGE_FIRST_DAY = 1
MANIFEST_CHUNK = 1000  # scenes per task when manifest lines are made in parallel
PARALLEL_MANIFEST_MIN = 5000
T = TypeVar("T")
R = TypeVar("R")
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
    gnss_outage: bool = False  # a fleet-wide GNSS outage on the drive's day


def is_outage_day(day: date) -> bool:
    return (day - FIRST_DAY).days % OUTAGE_EVERY_DAYS == OUTAGE_FIRST_DAY


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
    return _with_outages(plans)


def _with_outages(plans: list[DrivePlan]) -> list[DrivePlan]:
    """Mark the drives of the outage days. An outage needs two vehicles on the road: when
    no outage day of the plan has them (a small fleet), the last day that has is taken."""
    vehicles: dict[date, set[str]] = {}
    for plan in plans:
        vehicles.setdefault(plan.start.date(), set()).add(plan.vehicle_id)
    busy = [day for day, drove in vehicles.items() if len(drove) >= 2]
    days = {day for day in busy if is_outage_day(day)} or set(busy[-1:])
    return [replace(plan, gnss_outage=plan.start.date() in days) for plan in plans]


def carrier_outage(rng: np.random.Generator, n: int) -> np.ndarray:
    """Samples without a fix while the RTK corrections are down: the receiver drops in
    and out for seconds at a time, about two thirds of the time."""
    lost = np.zeros(n, bool)
    i = 0
    while i < n:
        length = int(rng.integers(20, 150))  # 2 to 15 s
        lost[i : i + length] = rng.random() < 0.67
        i += length
    return lost


def _is_night(hour: int) -> bool:
    return hour >= 19 or hour < 5


def drive_scenes(plan: DrivePlan) -> Iterator[dict]:
    """The manifest records of one drive, in order."""
    rng = np.random.default_rng(plan.seed)
    n = plan.n_scenes * SAMPLES_PER_SCENE
    sig = simulate_drive(rng, plan.route, n)
    if plan.gnss_outage:
        # Its own generator: the drive's other signals stay what they are on other days.
        lost = carrier_outage(np.random.default_rng([plan.seed, 1]), n)
        sig.fix[lost] = 0
        sig.lat[lost] = np.nan
        sig.lon[lost] = np.nan
    # float32 prints the same short decimals as float64 here, faster; lat/lon need 64 bits.
    channels = {
        "speed_mps": np.round(sig.speed, 3).astype(np.float32),
        "accel_mps2": np.round(sig.accel, 3).astype(np.float32),
        "steering_angle_deg": np.round(sig.steering, 1).astype(np.float32),
        "brake": np.round(sig.brake, 2).astype(np.float32),
        "throttle": np.round(sig.throttle, 2).astype(np.float32),
        "lat": np.round(sig.lat, 7),
        "lon": np.round(sig.lon, 7),
        "gnss_fix": sig.fix,
    }
    events: dict[int, list[dict]] = {}
    for i, kind in sig.disengagements:
        t_s = round((i % SAMPLES_PER_SCENE) / HZ, 1)
        events.setdefault(i // SAMPLES_PER_SCENE, []).append({"t_s": t_s, "kind": kind})

    def per_scene(flags: np.ndarray) -> list[bool]:
        return flags.reshape(plan.n_scenes, SAMPLES_PER_SCENE).any(axis=1).tolist()

    junction = per_scene(sig.stop | sig.turn)
    tunnel, hard = per_scene(sig.tunnel), per_scene(sig.hard)
    route = plan.route
    urban = route.road == "urban"
    seeds = rng.integers(2**31, size=plan.n_scenes).tolist()
    pedestrians = rng.random(plan.n_scenes).tolist()
    for k in range(plan.n_scenes):
        start = plan.start + timedelta(seconds=k * SCENE_S)
        scene_id = f"{plan.vehicle_id}_{start:%Y%m%dT%H%M%S}_{k:03d}"
        sl = slice(k * SAMPLES_PER_SCENE, (k + 1) * SAMPLES_PER_SCENE)
        tags = [route.road]
        if _is_night(start.hour):
            tags.append("night")
        if plan.weather == "rain":
            tags.append("rain")
        if urban:
            if junction[k]:
                tags.append("intersection")
            if pedestrians[k] < route.pedestrian_rate + (0.2 if junction[k] else 0.0):
                tags.append("pedestrians")
        if tunnel[k]:
            tags.append("tunnel")
        if hard[k]:
            tags.append("hard_braking")
        prefix = f"videos/{scene_id}/"
        yield {
            "scene_id": scene_id,
            "vehicle_id": plan.vehicle_id,
            "drive_id": plan.drive_id,
            "start_time": start.isoformat(),
            "duration_s": float(SCENE_S),
            "cameras": {camera: f"{prefix}{camera}.mp4" for camera in CAMERAS},
            "signals": {"hz": HZ, **{name: ch[sl] for name, ch in channels.items()}},
            "disengagements": events.get(k, []),
            "tags": tags,
            "extra": {
                "route": route.name,
                "district": route.district,
                "weather": plan.weather,
                "synthetic_seed": seeds[k],
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


def _render_task(args: tuple[dict, str, int]) -> int:
    record, out_dir, fps = args
    return len(render_scene_videos(record, Path(out_dir), fps=fps))


def _manifest_task(plans: list[DrivePlan]) -> tuple[int, bytes]:
    lines = [manifest_line(record) for plan in plans for record in drive_scenes(plan)]
    return len(lines), b"".join(lines)


def _ordered_map(fn: Callable[[T], R], items: list[T], workers: int) -> Iterator[R]:
    """`map` over a process pool, in order, with a bounded number of results waiting."""
    if workers <= 1 or len(items) < 2:
        yield from map(fn, items)
        return
    # spawn, not fork: the parent may hold database connections and server threads.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunks(plans: list[DrivePlan], size: int) -> list[list[DrivePlan]]:
    chunks: list[list[DrivePlan]] = [[]]
    count = 0
    for plan in plans:
        if count >= size:
            chunks.append([])
            count = 0
        chunks[-1].append(plan)
        count += plan.n_scenes
    return chunks


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
    never names a video that was not written. With `workers` > 1 scenes are rendered (and
    large manifests generated) in spawned processes, so a calling script needs the usual
    `if __name__ == "__main__":` guard (manage.py has one).
    """
    from tqdm import tqdm

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    partial = out / "manifest.jsonl.part"
    plans = plan_fleet(n_scenes, seed)
    bar = tqdm(total=n_scenes, unit="scene", file=sys.stderr, disable=not progress)
    videos = 0
    with partial.open("wb", buffering=1 << 20) as fh:
        if not video:
            # Small fleets are not worth starting processes for.
            pool_size = workers if n_scenes >= PARALLEL_MANIFEST_MIN else 1
            for count, lines in _ordered_map(
                _manifest_task, _chunks(plans, MANIFEST_CHUNK), pool_size
            ):
                fh.write(lines)
                bar.update(count)
        else:
            records = [record for plan in plans for record in drive_scenes(plan)]
            tasks = [(record, str(out), fps) for record in records]
            for written in _ordered_map(_render_task, tasks, workers):
                videos += written
                bar.update()
            for record in records:
                fh.write(manifest_line(record))
    bar.close()
    os.replace(partial, manifest)
    return FleetReport(manifest, n_scenes, videos, time.perf_counter() - started)
