"""Test data for search tests: a registered model with its partial HNSW index, scenes with
frames and vectors (synthetic, rounded to float16 as `halfvec` stores them), and a
brute-force reference ranking to compare the database's answers against."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection

from catalog.filters import SceneFilters
from embeddings.models import EmbeddingModel, Frame, FrameEmbedding, SceneEmbedding
from embeddings.search.plan import clear_stats
from tests.factories import SceneFactory, VehicleFactory

TINY_NAME = "test-tiny/untrained"  # what the configured test encoder calls itself
TINY_DIM = 64


def ensure_model() -> EmbeddingModel:
    """The configured test model (test-tiny, 64-d) registered as production does it:
    its row plus its partial HNSW index, by `embedding_model_ensure`."""
    from embeddings.encoder import get_encoder
    from embeddings.services import embedding_model_ensure

    model = embedding_model_ensure(get_encoder())
    assert (model.name, model.dim) == (TINY_NAME, TINY_DIM)
    clear_stats()
    return model


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    out = v / np.linalg.norm(v, axis=-1, keepdims=True)
    # What halfvec keeps: compare the database with numpy on the same numbers.
    return out.astype(np.float16).astype(np.float32)


def add_vectors(scene, model, vectors: np.ndarray, cameras=("front_wide",), step_s=2.0):
    """One frame per row of `vectors`, cameras taking turns; plus the scene's mean vector."""
    frames, embeddings = [], []
    for i, vector in enumerate(vectors):
        camera = cameras[i % len(cameras)]
        frame = Frame(scene=scene, camera=camera, t_s=step_s * (i // len(cameras)))
        frames.append(frame)
        embeddings.append((frame, camera, vector))
    Frame.objects.bulk_create(frames)
    FrameEmbedding.objects.bulk_create(
        FrameEmbedding(frame=f, model=model, scene=scene, camera=c, embedding=v.tolist())
        for f, c, v in embeddings
    )
    SceneEmbedding.objects.create(
        scene=scene, model=model, embedding=unit(np.mean(vectors, axis=0)).tolist()
    )
    clear_stats()
    return frames


def analyze() -> None:
    with connection.cursor() as cur:
        cur.execute("ANALYZE catalog_scene")
        cur.execute("ANALYZE embeddings_frameembedding")
    clear_stats()


# --- a small fleet with varied attributes ------------------------------------------------

VEHICLES = ("veh-a", "veh-b", "veh-c")
TAGS = ("rain", "highway", "night", "urban", "pedestrian")
CAMERAS = ("front_wide", "rear", "left")
START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class FleetFrame:
    scene_pk: int
    scene_id: str
    camera: str
    t_s: float
    vector: np.ndarray


@dataclass
class Fleet:
    model: EmbeddingModel
    scenes: list  # Scene objects
    frames: list[FleetFrame]


def build_fleet(n_scenes: int = 60, seed: int = 7, clusters: int = 6) -> Fleet:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    model = ensure_model()
    centres = rng.normal(size=(clusters, TINY_DIM))
    vehicles = [VehicleFactory(vehicle_id=v) for v in VEHICLES]
    scenes, frames = [], []
    for i in range(n_scenes):
        max_speed = round(pick.uniform(0, 30), 2)
        scene = SceneFactory(
            scene_id=f"fleet-{i:03d}",
            vehicle=pick.choice(vehicles),
            start_time=START + timedelta(minutes=7 * i),
            local_hour=pick.randrange(24),
            max_speed_mps=max_speed,
            mean_speed_mps=round(max_speed * pick.uniform(0.3, 0.9), 2),
            gnss_fix_rate=round(pick.random(), 3),
            disengagement_count=pick.choice([0, 0, 0, 1, 2]),
            tags=sorted(pick.sample(TAGS, pick.randrange(3))),
            cameras={c: f"s3://fleet/{i}/{c}.mp4" for c in CAMERAS},
        )
        centre = centres[pick.randrange(clusters)]
        n = pick.randrange(3, 8)
        vectors = unit(centre + rng.normal(scale=0.9, size=(n, TINY_DIM)))
        for frame, vector in zip(add_vectors(scene, model, vectors, CAMERAS), vectors, strict=True):
            frames.append(FleetFrame(scene.pk, scene.scene_id, frame.camera, frame.t_s, vector))
        scenes.append(scene)
    analyze()
    return Fleet(model, scenes, frames)


def scene_matches(scene, f: SceneFilters) -> bool:
    """What each scene filter means (as the API documents it), written independently of the
    SQL."""
    checks = [
        not f.vehicle or scene.vehicle.vehicle_id in f.vehicle,
        not f.tag or set(f.tag) <= set(scene.tags),
        f.max_speed_gte is None or scene.max_speed_mps >= f.max_speed_gte,
        f.max_speed_lte is None or scene.max_speed_mps <= f.max_speed_lte,
        f.mean_speed_gte is None or scene.mean_speed_mps >= f.mean_speed_gte,
        f.hour_gte is None or scene.local_hour >= f.hour_gte,
        f.hour_lte is None or scene.local_hour <= f.hour_lte,
        f.has_disengagement is None or (scene.disengagement_count > 0) == f.has_disengagement,
        f.gnss_fix_rate_gte is None or scene.gnss_fix_rate >= f.gnss_fix_rate_gte,
        f.start_after is None or scene.start_time >= f.start_after,
    ]
    return all(checks)


def reference_ranking(fleet: Fleet, query: np.ndarray, *, filters, cameras, exclude=None):
    """Exact best-frame cosine per scene in the filter, best first: [(scene_id, score)]."""
    q = unit(query).astype(np.float64)
    q /= np.linalg.norm(q)
    allowed = {s.pk for s in fleet.scenes if scene_matches(s, filters)}
    best: dict[str, float] = {}
    for fr in fleet.frames:
        if fr.scene_pk not in allowed or fr.scene_id == exclude:
            continue
        if cameras and fr.camera not in cameras:
            continue
        v = fr.vector.astype(np.float64)
        score = float(np.dot(q, v) / np.linalg.norm(v))
        best[fr.scene_id] = max(best.get(fr.scene_id, -2.0), score)
    return sorted(best.items(), key=lambda kv: -kv[1])
