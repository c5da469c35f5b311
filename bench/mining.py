"""Clean datasets at fleet size: whole-filter adds, leakage, diverse samples and splits at
10^5 scenes, each side by side with the naive all-pairs approach on a slice
(extrapolated by the number of pairs).

Data (kept between runs in the database `bench_mining`; --rebuild regenerates it):
N scenes of 100 vehicles in drives of 30-120 consecutive 20-second scenes; 1 Hz tracks
of 20 points (8-15 m/s random walks in a 15 x 18 km box around Tokyo's bay); 512-d scene
vectors in 200 clusters (cosine ~0.8 within one, as CLIP footage of one kind of road) of
1% repeat the scene before them in their drive (a long stop, cosine > 0.99) and 0.05%
repeat a scene of another drive (the same road again), written with COPY, with the
model's scene HNSW index built afterwards. Sets: two versions of N/10 scenes each drawn
at random (the leakage a random split of drives makes, plus 1% shared scenes), and the
whole catalog in one set.

Arms (each timed once, end to end through the service, database writes included, after
a CHECKPOINT so that none is timed while another's writes are flushed):
  add filters   POST sets/<id>/items/ {"filters": {}}: N scenes, one INSERT ... SELECT
  leakage       version A vs version B (N/10 each): all three reasons, complete count
  diverse       a N/10 diverse sample of a filters-only pool of N scenes (and random)
  split         the N-scene set into 0.8 / 0.2 (and with by_place)
Baselines, on a slice, extrapolated by pairs (n^2):
  SQL all pairs   a cross join testing every pair for same drive, cosine and tracks
  numpy all pairs the full similarity matrix of the pool, then greedy farthest points
  plain greedy    farthest points with one pass over every vector per pick (n*k)
  index probes    one HNSW near-duplicate query per scene of version A

    .venv/bin/python bench/mining.py [--scenes 100000] [--quick] [--rebuild]

--quick: 10,000 scenes and smaller baseline slices (a few minutes), a smoke run rather
than the goal's size. The last line printed is the table as JSON.
"""

import argparse
import json
import math
import os
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from common import Timer, raw_connection, setup_django

DIM = 512
CLUSTERS = 200
VEHICLES = 100
TRACK_POINTS = 20
SCENE_VAR = 0.25  # squared norm of a scene's offset from its cluster centre
REUPLOAD_SHARE = 0.01  # near-duplicates of another scene of the same drive (a long stop)
ACROSS_SHARE = 0.0005  # ... of a scene of another drive (the same road again)
GOAL_S = 10.0
GOAL_SPEEDUP = 20.0
# Slice sizes of the all-pairs baselines (extrapolated by pairs): the SQL with tracks
# measures every pair of points, so its slices are the smallest.
SLICES = {"leakage": 150, "sample": 4000, "split": 1500, "split_place": 500}
QUICK_SLICES = {"leakage": 100, "sample": 2000, "split": 600, "split_place": 200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 scenes, small slices")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.scenes = 10_000
    slices = QUICK_SLICES if args.quick else SLICES
    # A 512-d model, as ViT-B-32: only its config is read (no weights are loaded).
    os.environ.setdefault("CATALOG_CLIP_MODEL", "ViT-B-32")
    os.environ.setdefault("CATALOG_CLIP_PRETRAINED", "")
    setup_django("bench_mining")
    rng = np.random.default_rng(args.seed)
    model = load(args.scenes, rng, rebuild=args.rebuild)
    user = bench_user()
    rows = []
    rows.append(arm_add_filters(user, args.scenes))
    rows.extend(arm_leakage(user, model, args.scenes, rng, slices))
    rows.extend(arm_sample(user, model, args.scenes, slices))
    rows.extend(arm_split(user, model, slices))
    print_table(rows, args.scenes)
    print_json(rows, args.scenes)


# --- data --------------------------------------------------------------------------------


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def load(n: int, rng, *, rebuild: bool):
    from catalog.models import Scene
    from embeddings.encoder import get_encoder
    from embeddings.models import EmbeddingModel

    encoder = get_encoder()
    model = EmbeddingModel.objects.filter(name=encoder.model_name).first()
    if model and Scene.objects.count() == n and not rebuild:
        print(f"reusing {n:,} scenes in database bench_mining (--rebuild to redo)")
        return model
    from common import reset_tables

    from embeddings.services import embedding_model_ensure
    from embeddings.vector_index import scene_index_name

    reset_tables(
        "curation_scenesetversionitem", "curation_scenesetversion", "curation_scenesetitem",
        "curation_sceneset", "embeddings_sceneembedding", "catalog_scene", "catalog_drive",
        "catalog_vehicle",
    )  # fmt: skip
    model = embedding_model_ensure(encoder)
    assert model.dim == DIM, f"{model.name} is {model.dim}-d, the bench is {DIM}-d"
    with Timer() as t:
        pks, drives = copy_scenes(n, rng)
        copy_scene_vectors(model, pks, drives, rng)
    print(f"COPY {n:,} scenes with tracks + scene vectors: {t.seconds:.1f} s", flush=True)
    from django.db import connection

    from embeddings.vector_index import scene_index_ddl

    index = scene_index_name(model)
    with connection.cursor() as cur, Timer() as t:
        cur.execute(f"DROP INDEX IF EXISTS {index}")
        cur.execute(scene_index_ddl(model))
        cur.execute("VACUUM ANALYZE embeddings_sceneembedding")
        cur.execute("VACUUM ANALYZE catalog_scene")
    print(f"scene HNSW index: {t.seconds:.1f} s", flush=True)
    return model


def drives_of(n: int, rng) -> list[tuple[int, int, int]]:
    """(vehicle, drive number, scenes) until n scenes."""
    drives, total, number = [], 0, 0
    while total < n:
        length = int(min(rng.integers(30, 121), n - total))
        drives.append((int(rng.integers(VEHICLES)), number, length))
        total += length
        number += 1
    return drives


def copy_scenes(n: int, rng) -> tuple[list[int], list[tuple[int, int, int]]]:
    from django.conf import settings
    from psycopg.types.json import Jsonb

    from catalog.models import Drive, Scene, Vehicle

    Vehicle.objects.bulk_create(Vehicle(vehicle_id=f"veh-{i:03d}") for i in range(VEHICLES))
    vehicle_pk = dict(Vehicle.objects.values_list("vehicle_id", "pk"))
    drives = drives_of(n, rng)
    Drive.objects.bulk_create(
        Drive(drive_id=f"veh-{v:03d}_d{d:05d}", vehicle_id=vehicle_pk[f"veh-{v:03d}"])
        for v, d, _ in drives
    )
    drive_pk = dict(Drive.objects.values_list("drive_id", "pk"))
    fields = [f for f in Scene._meta.concrete_fields if not f.primary_key]
    base = datetime(2026, 9, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    metres = math.radians(1.0) * 6_371_008.8
    conn = raw_connection()
    copy_sql = f"COPY catalog_scene ({', '.join(f.column for f in fields)}) FROM STDIN"
    with conn, conn.cursor() as cur, cur.copy(copy_sql) as copy:
        i = 0
        for vehicle, number, length in drives:
            start = base + timedelta(seconds=float(rng.uniform(0, 60 * 86400)))
            lat, lon = 35.55 + rng.uniform(0, 0.15), 139.65 + rng.uniform(0, 0.2)
            heading = rng.uniform(0, 2 * math.pi)
            for k in range(length):
                speed = rng.uniform(8, 15)
                heading += rng.normal(scale=0.3)
                steps = np.arange(TRACK_POINTS) * speed
                track_lat = lat + steps * math.cos(heading) / metres
                track_lon = lon + steps * math.sin(heading) / (metres * math.cos(math.radians(lat)))
                scene_start = start + timedelta(seconds=20 * k)
                scene_id = f"veh-{vehicle:03d}_{scene_start:%Y%m%dT%H%M%S}_{i:06d}"
                values = {
                    "scene_id": scene_id, "vehicle_id": vehicle_pk[f"veh-{vehicle:03d}"],
                    "drive_id": drive_pk[f"veh-{vehicle:03d}_d{number:05d}"],
                    "start_time": scene_start, "end_time": scene_start + timedelta(seconds=20),
                    "duration_s": 20.0,
                    "local_hour": scene_start.astimezone(settings.CATALOG_TZ).hour,
                    "cameras": Jsonb({"front_wide": f"s3://fleet/{scene_id}/front_wide.mp4"}),
                    "tags": [], "extra": Jsonb({}), "content_sha256": f"{i:064x}",
                    "max_speed_mps": float(speed), "mean_speed_mps": float(speed),
                    "max_decel_mps2": 1.0, "gnss_fix_rate": 1.0, "disengagement_count": 0,
                    "start_lat": float(track_lat[0]), "start_lon": float(track_lon[0]),
                    "end_lat": float(track_lat[-1]), "end_lon": float(track_lon[-1]),
                    "min_lat": float(track_lat.min()), "max_lat": float(track_lat.max()),
                    "min_lon": float(track_lon.min()), "max_lon": float(track_lon.max()),
                    "track_lat": track_lat.tolist(), "track_lon": track_lon.tolist(),
                    "track_cells": [], "ingested_at": now, "updated_at": now,
                }  # fmt: skip
                row = []
                for f in fields:
                    value = values[f.column] if f.column in values else f.get_default()
                    row.append(Jsonb(value) if isinstance(value, dict) else value)
                copy.write_row(row)
                lat, lon = float(track_lat[-1]), float(track_lon[-1])
                i += 1
    conn.close()
    return list(Scene.objects.order_by("pk").values_list("pk", flat=True)), drives


def scene_vectors(drive_of: np.ndarray, rng) -> np.ndarray:
    """Unit vectors, one per scene; `drive_of[i]` is scene i's drive (scenes in drive order)."""
    n = len(drive_of)
    centres = unit(rng.standard_normal((CLUSTERS, DIM), dtype=np.float32))
    vectors = centres[rng.integers(CLUSTERS, size=n)]
    vectors = unit(
        vectors + rng.standard_normal((n, DIM), dtype=np.float32) * math.sqrt(SCENE_VAR / DIM)
    )
    # A long stop: the scene before, in the same drive. Sources are never copies themselves.
    stops = np.flatnonzero(drive_of[1:] == drive_of[:-1]) + 1
    stops = rng.choice(stops, size=min(len(stops), int(n * REUPLOAD_SHARE)), replace=False)
    stops = np.setdiff1d(stops, stops + 1)
    across = rng.choice(n, size=int(n * ACROSS_SHARE), replace=False)
    across_from = rng.integers(n, size=len(across))
    taken = np.concatenate([stops, stops - 1])
    keep = ~np.isin(across, taken) & ~np.isin(across_from, stops) & ~np.isin(across_from, across)
    copies = np.concatenate([stops, across[keep]])
    sources = np.concatenate([stops - 1, across_from[keep]])
    noise = rng.standard_normal((len(copies), DIM), dtype=np.float32) * math.sqrt(0.005 / DIM)
    vectors[copies] = unit(vectors[sources] + noise)
    return vectors.astype(np.float16)


def copy_scene_vectors(model, pks: list[int], drives, rng) -> None:
    from pgvector import HalfVector

    drive_of = np.repeat(np.arange(len(drives)), [length for _, _, length in drives])
    vectors = scene_vectors(drive_of, rng)
    conn = raw_connection()
    copy_sql = (
        "COPY embeddings_sceneembedding (scene_id, model_id, embedding) "
        "FROM STDIN WITH (FORMAT BINARY)"
    )
    with conn, conn.cursor() as cur, cur.copy(copy_sql) as copy:
        copy.set_types(["int8", "int8", "halfvec"])
        for pk, vector in zip(pks, vectors, strict=True):
            copy.write_row((pk, model.pk, HalfVector(vector)))
    conn.close()


def bench_user():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    return user


def fresh_set(user, name: str):
    from curation import services
    from curation.models import SceneSet

    SceneSet.objects.filter(owner=user, name__startswith=name).update(deleted_at=datetime.now(UTC))
    return services.scene_set_create(owner=user, name=name)


# --- arms --------------------------------------------------------------------------------


def settle() -> None:
    """Before a timed arm: write back what the previous arms wrote (a checkpoint), so
    that an arm is not timed while the server flushes gigabytes another arm dirtied."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")


def arm_add_filters(user, n: int) -> dict:
    from curation.adding import scene_set_add_items

    scene_set = fresh_set(user, "bench all")
    settle()
    with Timer() as t:
        report = scene_set_add_items(
            scene_set_id=scene_set.pk, actor=user, filters={}, confirm=True
        )
    assert report.added == n, report
    return {
        "arm": f"add filters ({n:,} scenes)",
        "seconds": t.seconds,
        "detail": f"{report.added:,} added",
    }


def _version_of(user, name: str, pks: list[int]):
    from curation import services
    from curation.adding import insert_items

    scene_set = fresh_set(user, name)
    insert_items(scene_set, user, pks)
    return services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user, confirm=True)


def arm_leakage(user, model, n: int, rng, slices: dict) -> list[dict]:
    from catalog.models import Scene
    from curation.leakage import version_leakage

    pks = np.array(Scene.objects.order_by("pk").values_list("pk", flat=True))
    size = n // 10
    order = rng.permutation(pks)
    a, b = order[:size], order[size : 2 * size].copy()
    b[: size // 100] = a[: size // 100]  # 1% of the scenes in both
    va = _version_of(user, "bench leak A", a.tolist())
    vb = _version_of(user, "bench leak B", b.tolist())
    settle()
    with Timer() as t:
        report = version_leakage(version=va, against=vb)
    detail = f"{report.count:,} pairs " + str(report.reasons).replace("'", "")
    slice_n = slices["leakage"]
    naive_s = sql_all_pairs(model, a[:slice_n], b[:slice_n], place=True) * (size / slice_n) ** 2
    probe_s = index_probes(model, a[:200].tolist()) * size / 200
    return [
        {"arm": f"leakage {size:,} x {size:,}", "seconds": t.seconds, "detail": detail,
         "naive": naive_s, "naive_name": f"SQL all pairs ({slice_n}^2 slice)"},
        {"arm": "  near-duplicates by index probes", "seconds": probe_s,
         "detail": "200 probes, extrapolated"},
    ]  # fmt: skip


_NAIVE_PAIRS = """
    WITH a AS (SELECT s.id, s.drive_id, s.start_time, s.track_lat, s.track_lon, e.embedding
               FROM catalog_scene s JOIN embeddings_sceneembedding e
               ON e.scene_id = s.id AND e.model_id = %(model)s WHERE s.id = ANY(%(a)s)),
         b AS (SELECT s.id, s.drive_id, s.start_time, s.track_lat, s.track_lon, e.embedding
               FROM catalog_scene s JOIN embeddings_sceneembedding e
               ON e.scene_id = s.id AND e.model_id = %(model)s WHERE s.id = ANY(%(b)s))
    SELECT count(*) FILTER (WHERE same_drive OR near OR place) FROM (
        SELECT (a.drive_id = b.drive_id
                AND abs(extract(epoch FROM a.start_time - b.start_time)) <= 600) AS same_drive,
               (a.embedding::halfvec(512) <=> b.embedding::halfvec(512)) <= 0.02 AS near,
               {place} AS place
        FROM a JOIN b ON {pairs}
    ) t
"""
_NAIVE_PLACE = """EXISTS (
    SELECT 1 FROM unnest(a.track_lat, a.track_lon) p(lat, lon),
                  unnest(b.track_lat, b.track_lon) q(lat, lon)
    WHERE 2 * 6371008.8 * asin(least(1, sqrt(power(sin(radians(q.lat - p.lat) / 2), 2)
          + cos(radians(p.lat)) * cos(radians(q.lat)) * power(sin(radians(q.lon - p.lon) / 2), 2))))
          <= 30)"""


def sql_all_pairs(model, a, b=None, *, place: bool) -> float:
    """Seconds for the naive SQL over every pair of a x b (or of a with itself)."""
    from django.db import connection

    sql = _NAIVE_PAIRS.format(
        place=_NAIVE_PLACE if place else "false", pairs="a.id < b.id" if b is None else "true"
    )
    with connection.cursor() as cur, Timer() as t:
        cur.execute(
            sql,
            {"model": model.pk, "a": list(map(int, a)), "b": list(map(int, a if b is None else b))},
        )
        cur.fetchone()
    return t.seconds


def index_probes(model, pks: list[int]) -> float:
    from embeddings.similarity import near_duplicates

    with Timer() as t:
        for pk in pks:
            near_duplicates(scene_pk=pk, model=model, min_score=0.98, limit=20)
    return t.seconds


def arm_sample(user, model, n: int, slices: dict) -> list[dict]:
    from curation.adding import scene_set_add_items
    from embeddings.neighbours import farthest_points
    from embeddings.similarity import NEAR_DUPLICATE_MIN_SCORE

    k = n // 10
    rows = []
    for strategy in ("diverse", "random"):
        scene_set = fresh_set(user, f"bench sample {strategy}")
        settle()
        with Timer() as t:
            report = scene_set_add_items(
                scene_set_id=scene_set.pk, actor=user, filters={},
                sample={"n": k, "strategy": strategy, "seed": 0},
            )  # fmt: skip
        rows.append(
            {
                "arm": f"{strategy} sample {k:,} of {n:,}",
                "seconds": t.seconds,
                "detail": f"{report.added:,} added",
            }
        )
    slice_n = slices["sample"]
    matrix_s = numpy_all_pairs_greedy(model, slice_n, k * slice_n // n)
    rows[0]["naive"] = matrix_s * (n / slice_n) ** 2
    rows[0]["naive_name"] = f"numpy all pairs ({slice_n:,} slice)"
    # The same work as the baseline (vectors in memory, no database): the sampling alone.
    vectors = _pool_vectors(model)
    with Timer() as t:
        farthest_points(vectors, k, seed=0, min_distance=1.0 - NEAR_DUPLICATE_MIN_SCORE)
    rows.append(
        {
            "arm": "  sampling alone (vectors in memory)",
            "seconds": t.seconds,
            "detail": "without reading vectors or writing items",
            "naive": rows[0]["naive"],
            "naive_name": "the same all pairs",
        }
    )
    greedy_s = plain_greedy(model, 40) * k / 40
    rows.append(
        {
            "arm": "  plain greedy (a pass per pick)",
            "seconds": greedy_s,
            "detail": "40 picks, extrapolated",
        }
    )
    return rows


def _pool_vectors(model, limit: int | None = None) -> np.ndarray:
    from catalog.models import Scene
    from embeddings.similarity import scene_vector_matrix

    pks = list(Scene.objects.order_by("pk").values_list("pk", flat=True)[:limit])
    return scene_vector_matrix(scene_pks=pks, model=model).vectors


def numpy_all_pairs_greedy(model, m: int, k: int) -> float:
    vectors = _pool_vectors(model, m)
    with Timer() as t:
        similarity = vectors @ vectors.T
        nearest = 1.0 - similarity[0]
        picks = [0]
        while len(picks) < k:
            best = int(np.argmax(nearest))
            picks.append(best)
            nearest = np.minimum(nearest, 1.0 - similarity[best])
    return t.seconds


def plain_greedy(model, picks: int) -> float:
    vectors = _pool_vectors(model)
    with Timer() as t:
        nearest = np.full(len(vectors), np.inf, dtype=np.float32)
        pick = 0
        for _ in range(picks):
            nearest = np.minimum(nearest, 1.0 - vectors @ vectors[pick])
            pick = int(np.argmax(nearest))
    return t.seconds


def arm_split(user, model, slices: dict) -> list[dict]:
    from curation.models import SceneSet
    from curation.splits import scene_set_split

    source = SceneSet.objects.get(owner=user, name="bench all", deleted_at__isnull=True)
    n = source.items.count()
    rows = []
    for by_place in (False, True):
        for part in ("train", "val"):
            SceneSet.objects.filter(name=f"bench all / {part}").update(
                deleted_at=datetime.now(UTC), name=f"bench old {time.time()} {part}"
            )
        settle()
        with Timer() as t:
            split = scene_set_split(
                scene_set_id=source.pk, actor=user, parts={"train": 0.8, "val": 0.2},
                seed=0, by_place=by_place,
            )  # fmt: skip
        counts = ", ".join(f"{p.part} {p.count:,}" for p in split.sets)
        detail = f"{counts}; {split.groups:,} groups, largest {split.largest_group:,}"
        left_out = split.as_dict()["left_out"]
        if by_place:
            detail += (
                f"; left out {left_out['count']:,} ({left_out['on_borders']:,} on borders, "
                f"{left_out['group_elsewhere']:,} away from their drive's area)"
            )
        rows.append({
            "arm": f"split {n:,}{' by place' if by_place else ''}", "seconds": t.seconds,
            "detail": detail, "left_out": left_out["count"],
        })  # fmt: skip
    from catalog.models import Scene

    for row, place in zip(rows, (False, True), strict=True):
        slice_n = slices["split_place" if place else "split"]
        pks = list(Scene.objects.order_by("pk").values_list("pk", flat=True)[:slice_n])
        pairs_slice = slice_n * (slice_n - 1) / 2
        row["naive"] = sql_all_pairs(model, pks, place=place) * (n * (n - 1) / 2) / pairs_slice
        row["naive_name"] = f"SQL all pairs ({slice_n:,} slice)"
    return rows


def print_table(rows: list[dict], n: int) -> None:
    goal = f"goal: each <= {GOAL_S:.0f} s and >= {GOAL_SPEEDUP:.0f}x all pairs"
    print(f"\n{n:,} scenes, {DIM}-d scene vectors; {goal}")
    print(f"{'arm':<36} {'seconds':>9} {'all pairs (extrap.)':>20} {'speed-up':>9}  detail")
    for row in rows:
        naive = row.get("naive")
        speedup = f"{naive / row['seconds']:,.0f}x" if naive else ""
        naive_text = f"{naive:,.0f} s" if naive else ""
        detail = row.get("detail", "")
        print(f"{row['arm']:<36} {row['seconds']:>9.2f} {naive_text:>20} {speedup:>9}  {detail}")
        if naive:
            print(f"{'':<36} {'':>9} {row['naive_name']:>20}")


def print_json(rows: list[dict], n: int) -> None:
    arms = []
    for row in rows:
        arm = {"arm": row["arm"].strip(), "seconds": round(row["seconds"], 3)}
        if row.get("naive"):
            arm["all_pairs_s"] = round(row["naive"], 1)
            arm["speedup"] = round(row["naive"] / row["seconds"], 1)
        if "left_out" in row:
            arm["left_out"] = row["left_out"]
        arms.append(arm)
    print(json.dumps({"bench": "mining", "scenes": n, "arms": arms}))


if __name__ == "__main__":
    main()
