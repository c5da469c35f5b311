"""Scenes for mining, dedup, sampling, leakage and split tests: each with frame vectors
(and so a scene vector), optionally a drive, a start time, a track and disengagements.

Vectors live in the test model's 64 dimensions. `look(seed)` is a random direction;
`near(v, cos)` a direction whose cosine with v is about `cos`, so a test can place
twins (identical footage), near-duplicates (>= 0.98) and distinct scenes (~0)."""

import math
from datetime import timedelta

import numpy as np

from catalog.models import Disengagement
from tests.embeddings.search_support import TINY_DIM, add_vectors, ensure_model, unit
from tests.factories import TOKYO_START, DriveFactory, SceneFactory, VehicleFactory

METRES_PER_DEGREE = math.radians(1.0) * 6_371_008.8


def look(seed: int) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=(1, TINY_DIM)))[0]


def near(vector: np.ndarray, cos: float, seed: int = 0) -> np.ndarray:
    """A unit vector whose cosine with `vector` is `cos`."""
    other = np.random.default_rng(seed + 10_000).normal(size=TINY_DIM)
    other -= other @ vector * vector
    other /= np.linalg.norm(other)
    return unit((cos * vector + math.sqrt(1 - cos * cos) * other)[None, :])[0]


def frames_of(vector: np.ndarray, n: int = 4, seed: int = 0, spread: float = 0.05) -> np.ndarray:
    """n frame vectors scattered around `vector` (their mean points along it)."""
    noise = np.random.default_rng(seed).normal(scale=spread, size=(n, TINY_DIM))
    noise -= noise.mean(axis=0)
    return unit(vector[None, :] + noise)


def east_track(lat: float, lon: float, north_m: float = 0.0, points: int = 20, step_m: float = 8.0):
    lat = lat + north_m / METRES_PER_DEGREE
    dlon = step_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return [lat] * points, [lon + i * dlon for i in range(points)]


def mining_scene(
    vector: np.ndarray | None = None,
    *,
    frames: np.ndarray | None = None,
    cameras=("front_wide",),
    drive: str | None = None,
    start=None,
    track=None,
    disengagements=(),
    **kwargs,
):
    """A scene (factory defaults otherwise) with frames and vectors from `vector` (or
    exactly `frames`), cameras taking turns every 2 s, and `disengagements` as
    [(t_s, kind)]. Scenes without a drive have none; tracks default to unique spots."""
    model = ensure_model()
    if drive is not None:
        vehicle = VehicleFactory(vehicle_id=drive.split("_")[0])
        kwargs.update(vehicle=vehicle, drive=DriveFactory(vehicle=vehicle, drive_id=drive))
    else:
        kwargs.setdefault("drive", None)
    if start is not None:
        kwargs.update(start_time=start, end_time=start + timedelta(seconds=20))
    if track is None:
        spot = SceneFactory._meta.model.objects.count()
        track = east_track(35.0 + spot * 0.01, 139.0)  # ~1 km apart: never the same place
    kwargs.update(
        track_lat=track[0],
        track_lon=track[1],
        min_lat=min(track[0]) if track[0] else None,
        max_lat=max(track[0]) if track[0] else None,
        min_lon=min(track[1]) if track[1] else None,
        max_lon=max(track[1]) if track[1] else None,
        disengagement_count=len(disengagements),
    )
    scene = SceneFactory(cameras={c: f"s3://fleet/x/{c}.mp4" for c in cameras}, **kwargs)
    for t_s, kind in disengagements:
        Disengagement.objects.create(scene=scene, t_s=t_s, kind=kind)
    if frames is None and vector is not None:
        frames = frames_of(vector, n=4 * len(cameras), seed=scene.pk)
    if frames is not None:
        add_vectors(scene, model, frames, cameras)
    return scene


def at(minutes: float):
    return TOKYO_START + timedelta(minutes=minutes)
