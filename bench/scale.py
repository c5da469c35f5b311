"""The fleet's size on one machine: 10^6 scenes and 10^7 frame vectors, measured.

Builds the catalog in its own database (`bench_scale_<scenes>x<frames>`, kept between
runs; --rebuild regenerates) with bench/search.py's data shape: clustered 512-d vectors
(200 clusters; frames of a scene close together), F frames a scene over 7 cameras,
100 vehicles, 10% of the scenes with disengagements. Loaded by COPY in chunks (never the
whole vector set in memory), then indexed. Every query's exact answer is computed first
(and kept in the database for reruns of the same seed), then the search's working set is
read into memory (prewarm), then the arms are timed. Measured side by side in one run:

  vectors  recall@10 of scenes against an exact scan, and p50/p95, at none/10%/1%/0.1% of
           the scenes (vehicle filters), for three arms:
             plain    pgvector as documented: the halfvec HNSW index, iterative scans
                      (relaxed_order, pgvector's other defaults), the top frames' scenes
             halfvec  the catalog's search (nearest_scenes) over the halfvec frame index
             bit      the catalog's search over the binary-quantized frame index
                      (CATALOG_FRAME_INDEX=bit): Hamming walk, exact halfvec re-score
           each index's size and build time, the tables' sizes, PostgreSQL's memory (the
           proportional set size of all its processes, sampled each second, peak per
           phase) and this process's peak RSS (it runs the web code: selectors, plans)
  sets     POST sets/<id>/items/ {"filters"} of ~10^5 scenes (server-side, one INSERT ...
           SELECT), the freeze, and each manifest format streamed: seconds and this
           process's peak RSS per phase (goal: <= 10 s and <= 500 MB each)
  lists    bench/lists.py at the same number of scenes (its own fleet with tracks, so
           that `near`/`bbox` are real): worst p95 of first, numbered and deep cursor
           pages over every filter and a 10^5-item set

    .venv/bin/python bench/scale.py [--scenes 1000000] [--frames-per-scene 10]
                                    [--queries 40] [--quick] [--rebuild] [--no-plain]
                                    [--no-lists]

--quick: 10^5 scenes x 10 frames (10^6 vectors). --no-plain skips building the plain
halfvec index (at 10^7 frames it needs ~13 GiB to build in memory). The last line is one
JSON object: scenes, frames, recall_at_10 and p95_ms ({none, 10%, 1%, 0.1%} of the arm
the catalog uses, `bit`), list_p95_ms, index_mib, table_mib, build_s, and every arm.
"""

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import threading
import time

import numpy as np
from common import (
    ROOT,
    Timer,
    copy_frame_rows,
    percentile,
    raw_connection,
    reset_tables,
    setup_django,
)
from export import peak_mb, reset_peak
from search import CAMERAS, CLUSTERS, DIM, FILTERS, FRAME_VAR, QUERY_VAR, SCENE_VAR, unit

K = 10
ARMS = ("plain", "halfvec", "bit")  # the keys of run_vectors' figures that are arms
CHUNK_SCENES = 20_000
WARMUP = 3  # first queries of each filter warm the caches; not timed
MIB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=1_000_000)
    parser.add_argument("--frames-per-scene", type=int, default=10)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10^5 scenes x 10 frames")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain halfvec index")
    parser.add_argument("--no-lists", action="store_true", help="skip bench/lists.py")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.scenes, args.frames_per_scene = 100_000, 10
    os.environ.setdefault("CATALOG_CLIP_MODEL", "ViT-B-32")
    os.environ.setdefault("CATALOG_CLIP_PRETRAINED", "")
    setup_django(f"bench_scale_{args.scenes}x{args.frames_per_scene}")
    memory = PgMemory()
    memory.start()
    model, queries, builds = load(args, memory)
    sizes = measure_sizes(model)
    print_sizes(sizes, builds)
    key = f"truth_seed{args.seed}_q{args.queries}"
    vectors = run_vectors(model, queries, plain=not args.no_plain, memory=memory, key=key)
    print_vectors(vectors)
    memory.phase = "sets"
    with memory.timed():
        sets = run_sets(args.scenes)
    print_sets(sets)
    memory.phase = "lists"
    with memory.timed():
        lists = run_lists(args) if not args.no_lists else {}
    print(json.dumps(summary(args, vectors, sets, lists, sizes, builds, memory)))


# --- memory ------------------------------------------------------------------------------


class PgMemory(threading.Thread):
    """Peak proportional set size of all PostgreSQL processes (shared buffers counted
    once, split among the processes that touch them), per phase: sampled every second
    while data is loaded and indexed, and between timed queries only (`timed()`).
    Reading a process's PSS walks its page tables under its memory map lock: with 18 GB
    of shared buffers that is ~190 ms of CPU a sample, which stalled queries (p50 72 ms
    where the same queries unsampled took 25)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.phase = "load"
        self.peaks: dict[str, float] = {}
        self._quiet = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while True:
            if not self._quiet.is_set():
                self.sample()
            time.sleep(1.0)

    def sample(self) -> None:
        import psutil

        with self._lock:
            total = _huge_pages_in_use()
            for proc in psutil.process_iter(["name"]):
                if proc.info["name"] != "postgres":
                    continue
                try:
                    total += proc.memory_full_info().pss
                except (psutil.Error, OSError):
                    continue
            mib = total / MIB
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), mib)

    @contextlib.contextmanager
    def timed(self):
        """No sampling inside (queries are timed there); one sample at the end."""
        self._quiet.set()
        with self._lock:  # a sample under way ends first
            pass
        try:
            yield
        finally:
            self._quiet.clear()
            self.sample()


def _huge_pages_in_use() -> int:
    """Bytes of huge pages in use on the machine. A process's PSS leaves them out; with
    huge pages reserved for it, they are PostgreSQL's shared buffers (the bench's
    machine runs nothing else that uses them)."""
    info = {}
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            name, _, value = line.partition(":")
            info[name] = int(value.split()[0])
    used = info.get("HugePages_Total", 0) - info.get("HugePages_Free", 0)
    return used * info.get("Hugepagesize", 0) * 1024


# --- data --------------------------------------------------------------------------------


def load(args, memory: PgMemory):
    from django.db import connection

    from embeddings.encoder import get_encoder
    from embeddings.models import EmbeddingModel, FrameEmbedding
    from embeddings.services import embedding_model_ensure

    encoder = get_encoder()
    assert encoder.dim == DIM
    frames = args.scenes * args.frames_per_scene
    model = EmbeddingModel.objects.filter(name=encoder.model_name).first()
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_meta (k text PRIMARY KEY, v jsonb)")
    if model and not args.rebuild and not _frame_indexes_present(model, args.no_plain):
        print("frame indexes missing: rebuilding", flush=True)
    elif (
        model and not args.rebuild and FrameEmbedding.objects.filter(model=model).count() == frames
    ):
        print(f"reusing {frames:,} frame vectors (--rebuild to regenerate)", flush=True)
        _analyze()
        return model, pick_queries(args, frames), _meta("builds", dict)
    with connection.cursor() as cur:  # new data: exact answers kept for the old are void
        cur.execute("DELETE FROM bench_meta WHERE k LIKE %s", ["truth%"])
    reset_tables("embeddings_frameembedding", "embeddings_sceneembedding", "embeddings_frame",
                 "embeddings_sceneembeddingstate", "catalog_scene", "catalog_drive",
                 "catalog_vehicle")  # fmt: skip
    model = embedding_model_ensure(encoder)
    _drop_frame_indexes(model)
    rng = np.random.default_rng(args.seed)
    builds: dict[str, float] = {}
    with Timer() as t:
        from search import copy_scenes

        copy_scenes(args.scenes, rng)
    builds["copy_scenes_s"] = round(t.seconds, 1)
    print(f"COPY {args.scenes:,} scenes: {t.seconds:.0f} s", flush=True)
    with Timer() as t:
        copy_vectors(model, args, rng)
    builds["copy_frames_s"] = round(t.seconds, 1)
    _meta_set("builds", builds)
    _analyze()
    memory.phase = "build"
    _maintenance_memory()
    from search import ensure_scene_vectors

    with Timer() as t:
        ensure_scene_vectors(model)
    builds["scene_index_s"] = round(t.seconds, 1)
    for kind, name in _frame_indexes(model).items():
        if kind == "halfvec" and args.no_plain:
            continue
        builds[f"{kind}_build_s"] = build_frame_index(model, kind, name)
        _meta_set("builds", builds)  # each figure kept as soon as it is measured
    _analyze()
    return model, pick_queries(args, frames), builds


def pick_queries(args, frames: int) -> np.ndarray:
    """Perturbed copies of random stored frames (the same ones for a seed)."""
    from django.db import connection

    rng = np.random.default_rng(args.seed + 1)
    ids = sorted(int(i) + 1 for i in rng.choice(frames, size=args.queries, replace=False))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT embedding::vector::text FROM embeddings_frameembedding "
            "WHERE frame_id = ANY(%s) ORDER BY frame_id",
            [ids],
        )
        picked = np.array([json.loads(row[0]) for row in cur.fetchall()], dtype=np.float32)
    noise = rng.standard_normal(picked.shape, dtype=np.float32) * np.sqrt(QUERY_VAR / DIM)
    return unit(picked + noise)


def _frame_indexes(model) -> dict[str, str]:
    from embeddings.vector_index import frame_index_name

    return {"halfvec": frame_index_name(model), "bit": f"{frame_index_name(model)}_bit"}


def _frame_indexes_present(model, no_plain: bool) -> bool:
    from django.db import connection

    wanted = [n for k, n in _frame_indexes(model).items() if not (no_plain and k == "halfvec")]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname = ANY(%s)", [wanted])
        return cur.fetchone()[0] == len(wanted)


def _drop_frame_indexes(model) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for name in _frame_indexes(model).values():
            cur.execute(f"DROP INDEX IF EXISTS {name}")


def _maintenance_memory() -> None:
    """Enough maintenance memory that a graph builds in memory (pgvector builds far
    slower once it spills), with room left on a 24 GiB machine."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '6GB'")
        cur.execute("SET max_parallel_maintenance_workers = 1")


def build_frame_index(model, kind: str, name: str) -> float:
    from django.db import connection

    from embeddings.vector_index import frame_index_ddl

    with connection.cursor() as cur, Timer() as t:
        cur.execute(frame_index_ddl(model, kind, name=name, concurrently=False))
    print(f"HNSW build ({kind}): {t.seconds:.0f} s", flush=True)
    return round(t.seconds, 1)


def copy_vectors(model, args, rng) -> None:
    """Frames and their vectors, CHUNK_SCENES scenes at a time."""
    from catalog.models import Scene

    per_scene = args.frames_per_scene
    centres = unit(rng.standard_normal((CLUSTERS, DIM), dtype=np.float32))
    scene_pks = np.array(Scene.objects.order_by("pk").values_list("pk", flat=True))
    total = len(scene_pks) * per_scene
    conn = raw_connection()
    started = time.perf_counter()
    with conn, conn.cursor() as cur:
        for first in range(0, len(scene_pks), CHUNK_SCENES):
            pks = scene_pks[first : first + CHUNK_SCENES]
            vectors = _chunk_vectors(len(pks), per_scene, centres, rng)
            base = first * per_scene
            slots = np.arange(len(vectors)) % per_scene
            copy_frame_rows(
                cur,
                model_pk=model.pk,
                first_id=base + 1,
                scene_pks=np.repeat(pks, per_scene),
                cameras=[CAMERAS[j % 7] for j in slots],
                times=2.0 * (slots // 7),
                vectors=vectors,
            )
            conn.commit()
            done = base + len(vectors)
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,} / {total:,} frames ({rate:,.0f}/s)", flush=True)
        cur.execute("SELECT setval('embeddings_frame_id_seq', %s)", [total])
    conn.close()


def _chunk_vectors(scenes: int, per_scene: int, centres, rng) -> np.ndarray:
    cluster_of = rng.integers(CLUSTERS, size=scenes)
    noise = rng.standard_normal((scenes, DIM), dtype=np.float32) * np.sqrt(SCENE_VAR / DIM)
    vectors = np.repeat(centres[cluster_of] + noise, per_scene, axis=0)
    vectors += rng.standard_normal(vectors.shape, dtype=np.float32) * np.sqrt(FRAME_VAR / DIM)
    return unit(vectors).astype(np.float16)


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for table in ("catalog_scene", "embeddings_frame", "embeddings_frameembedding",
                      "embeddings_sceneembedding"):  # fmt: skip
            cur.execute(f"VACUUM ANALYZE {table}")


def _meta_set(key: str, value) -> None:
    from django.db import connection
    from psycopg.types.json import Jsonb

    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO bench_meta VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            [key, Jsonb(value)],
        )


def _meta(key: str, kind):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT v FROM bench_meta WHERE k = %s", [key])
        row = cur.fetchone()
    if not row:
        return kind()
    # Django's connection hands jsonb back as text.
    return kind(json.loads(row[0]) if isinstance(row[0], str) else row[0])


# --- sizes -------------------------------------------------------------------------------


def measure_sizes(model) -> dict:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cur:
        for kind, name in _frame_indexes(model).items():
            cur.execute("SELECT pg_relation_size(to_regclass(%s))", [name])
            size = cur.fetchone()[0]
            if size:
                sizes[f"{kind}_index_mib"] = round(size / MIB, 1)
        for table in ("embeddings_frameembedding", "embeddings_frame", "catalog_scene",
                      "embeddings_sceneembedding"):  # fmt: skip
            cur.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
            heap, indexes = cur.fetchone()
            sizes[f"{table}_heap_mib"] = round(heap / MIB, 1)
            sizes[f"{table}_indexes_mib"] = round(indexes / MIB, 1)
        cur.execute("SELECT pg_database_size(current_database())")
        sizes["database_mib"] = round(cur.fetchone()[0] / MIB, 1)
    return sizes


def print_sizes(sizes: dict, builds: dict) -> None:
    print("\nsizes (MiB):", ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    print("builds (s):", ", ".join(f"{k} {v:,}" for k, v in builds.items()), flush=True)


# --- vectors -----------------------------------------------------------------------------


def _scope(model, raw: dict, kind: str):
    from catalog.filter_sql import scene_filter_sql
    from catalog.filters import parse_json_filters
    from embeddings.search import plan as sp

    sql, params = scene_filter_sql(parse_json_filters(raw), "s") if raw else ("TRUE", [])
    return sp.VectorScope(model.pk, model.dim, sql, tuple(params), frame_index=kind)


def _plain(scope, query) -> list[int]:
    """pgvector as its README has it: ORDER BY distance LIMIT n over the frames, with
    iterative scans so filters return enough rows; the scenes of the best frames."""
    from embeddings.search import vector_sql as sv

    sql, params = sv.hnsw_frames_sql(scope, sv.vector_literal(query), K * 10)
    hits = sv.run_sql(sql, params, {"hnsw.iterative_scan": "relaxed_order"})
    return list(dict.fromkeys(h.scene_pk for h in hits))[:K]


def _catalog(scope, query) -> list[int]:
    from embeddings.search import vector_sql as sv

    hits, _ = sv.nearest_scenes(scope, query, K)
    return [h.scene_pk for h in hits]


def run_vectors(model, queries: np.ndarray, *, plain: bool, memory: PgMemory, key: str) -> dict:
    """Every filter's exact answers first (kept in bench_meta under `key`: they depend
    only on the data, the seed and the number of queries), then the indexes read into
    memory, then the timed arms. An exact answer at 10^7 frames scans 11 GB: run between
    timed queries it would push the indexes out of memory before each one."""
    from embeddings.search import plan as sp

    sp.clear_stats()
    arms = {"plain": _plain, "halfvec": _catalog, "bit": _catalog}
    if not plain:
        arms.pop("plain")
        arms.pop("halfvec")
    truths = ground_truth(model, queries, key)
    memory.phase = "queries"
    reset_peak()
    warm = prewarm(model, plain=plain)
    out: dict[str, dict] = {arm: {} for arm in arms}
    for label, raw in FILTERS.items():
        scopes = {arm: _scope(model, raw, "bit" if arm == "bit" else "halfvec") for arm in arms}
        times: dict[str, list[float]] = {arm: [] for arm in arms}
        recalls: dict[str, list[float]] = {arm: [] for arm in arms}
        with memory.timed():
            for i, (query, truth_hits) in enumerate(zip(queries, truths[label], strict=True)):
                kth = truth_hits[-1][1] if truth_hits else 0.0
                truth = {pk for pk, _ in truth_hits}
                for arm, rank in arms.items():
                    with Timer() as t:
                        found = rank(scopes[arm], query)
                    if i >= WARMUP:
                        times[arm].append(t.seconds * 1000)
                    recalls[arm].append(_recall(found, truth, kth, scopes[arm], query))
        for arm in arms:
            out[arm][label] = {
                "recall": round(float(np.mean(recalls[arm])), 3),
                "p50": round(percentile(times[arm], 50), 1),
                "p95": round(percentile(times[arm], 95), 1),
            }
        print(f"  filter {label}: done", flush=True)
    out["web_peak_rss_mb"] = peak_mb()
    out["prewarm"] = warm
    return out


def ground_truth(model, queries: np.ndarray, key: str) -> dict[str, list]:
    """The exact top 10 scenes (pk, distance of the best frame) of every query under
    every filter: computed once per data set and kept."""
    from embeddings.search import vector_sql as sv

    truths = _meta(key, dict)
    for label, raw in FILTERS.items():
        if len(truths.get(label, ())) == len(queries):  # kept by an earlier run
            print(f"  exact answers, filter {label}: reused ({key})", flush=True)
            continue
        scope = _scope(model, raw, "bit")
        with Timer() as t:
            truths[label] = [
                [[h.scene_pk, h.distance] for h in sv.run_sql(
                    *sv.exact_scenes_sql(scope, sv.vector_literal(query), K))]
                for query in queries
            ]  # fmt: skip
        print(f"  exact answers, filter {label}: {t.seconds:.0f} s", flush=True)
        _meta_set(key, truths)
    return truths


# What a search reads besides the graphs: (table, its index on this column or None).
WORKING_SET = (
    ("embeddings_frameembedding", None),  # the frame vectors, re-scored
    ("embeddings_frameembedding", "scene_id"),  # a scene's frames
    ("embeddings_sceneembedding", None),  # a scene walk's rows; the scene scan's vectors
    ("embeddings_sceneembedding", "scene_id"),
    ("catalog_scene", None),  # filters
    ("catalog_scene", "id"),
    ("catalog_vehicle", None),
)
BUFFERS_RESERVE = 512 * MIB  # shared buffers left to everything else (catalogs, sets)


def prewarm(model, *, plain: bool) -> dict:
    """Read what a search touches into shared buffers before timing: the graphs, the
    frame and scene vectors (each query re-scores ~5,000 frames, ~1,000 heap pages; each
    scene walk reads its rows), the scene table and the indexes the queries use. The
    figures are those of a serving database, whose working set stays hot (or is
    reloaded at start by pg_prewarm's autoprewarm), not of queries right after the exact
    answers' full scans pushed it out.

    At 10^7 frames the working set is ~18.5 GiB. Held in the kernel's file cache only it
    is not hot: that cache shrinks here while idle, and a page read back costs ~50 us
    inside a graph walk (p95 140 ms unfiltered, p50 356 ms after a few idle minutes). So
    all of it goes into shared buffers when they hold it (CATALOG_PG_SHARED_BUFFERS);
    else the graphs do, the rest only into the file cache, with a warning. Read through
    this process's own connection, as a serving connection has its buffers mapped
    after its first queries."""
    from django.db import connection

    from embeddings.vector_index import scene_index_name

    graphs = [_frame_indexes(model)["bit"], scene_index_name(model)]
    if plain:
        graphs.append(_frame_indexes(model)["halfvec"])
    with connection.cursor() as cur, Timer() as t:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        rest = [table if column is None else _index_on(cur, table, column)
                for table, column in WORKING_SET]  # fmt: skip
        sizes = {}
        for name in [*graphs, *rest]:
            cur.execute("SELECT pg_relation_size(%s::regclass)", [name])
            sizes[name] = int(cur.fetchone()[0])
        cur.execute("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")
        buffers = int(cur.fetchone()[0])
        cur.execute("SHOW huge_pages_status")
        huge_pages = cur.fetchone()[0]
        working_set = sum(sizes.values())
        fits = working_set <= buffers - BUFFERS_RESERVE
        if not fits:
            need = math.ceil((working_set + BUFFERS_RESERVE) / 2**30)
            print(
                f"WARNING: the search's working set ({working_set / 2**30:.1f} GiB) exceeds "
                f"shared_buffers ({buffers / 2**30:.1f} GiB): only the graphs are read into "
                "them, the rest into the kernel's file cache, and latencies measure how much "
                f"of it stays there; set CATALOG_PG_SHARED_BUFFERS={need}GB",
                flush=True,
            )
        for name in rest:
            cur.execute("SELECT pg_prewarm(%s::regclass, %s)", [name, "buffer" if fits else "read"])
        for name in graphs:  # last: if anything is evicted, not these
            cur.execute("SELECT pg_prewarm(%s::regclass)", [name])
    where = "shared buffers" if fits else "shared buffers (graphs) and the file cache"
    print(
        f"prewarmed {', '.join(sizes)} into {where} (huge pages: {huge_pages}): {t.seconds:.1f} s",
        flush=True,
    )
    return {
        "s": round(t.seconds, 1),
        "working_set_mib": round(working_set / MIB),
        "shared_buffers_mib": round(buffers / MIB),
        "all_in_shared_buffers": fits,
        "huge_pages": huge_pages,
    }


def _index_on(cur, table: str, column: str) -> str:
    """The name of `table`'s index on `column` alone."""
    cur.execute(
        "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = %s::regclass AND i.indnatts = 1 AND a.attname = %s "
        "ORDER BY i.indisprimary DESC LIMIT 1",
        [table, column],
    )
    return cur.fetchone()[0]


def _recall(found: list[int], truth: set[int], kth: float, scope, query) -> float:
    """Share of the true top-10 scenes found; a found scene whose best frame ties the
    10th true scene's distance counts (ties are arbitrary)."""
    if not truth:
        return 1.0
    hit = sum(1 for pk in found if pk in truth)
    extra = [pk for pk in found if pk not in truth]
    if extra and hit < len(truth):
        from embeddings.search import vector_sql as sv

        best = sv.moments_of(scope, query, extra)
        hit += sum(1 for h in best if h.distance <= kth + 1e-6)
    return min(1.0, hit / len(truth))


def print_vectors(vectors: dict) -> None:
    print("\n| arm | filter | recall@10 | p50 ms | p95 ms |\n|---|---|---|---|---|")
    for arm in ARMS:
        for label, row in vectors.get(arm, {}).items():
            print(f"| {arm} | {label} | {row['recall']:.3f} | {row['p50']} | {row['p95']} |")
    print(f"peak RSS of this process (web code): {vectors['web_peak_rss_mb']} MB", flush=True)


# --- sets --------------------------------------------------------------------------------


def run_sets(scenes: int) -> dict:
    """~10^5 scenes into a set by filters, the freeze, each manifest format streamed."""
    from django.contrib.auth import get_user_model

    from curation import manifest, services
    from curation.adding import scene_set_add_items

    user = get_user_model().objects.create_user(username=f"scale-{time.time_ns()}")
    vehicles = min(100, max(1, round(100 * 100_000 / scenes)))
    filters = {"vehicle": [f"veh-{i:03d}" for i in range(vehicles)]}
    scene_set = services.scene_set_create(owner=user, name=f"scale {time.time_ns()}")
    # The process holds the CLIP text model (as a web process does): `added_mb` is each
    # phase's peak RSS above what the process held before it.
    out = {}
    base = reset_peak()
    with Timer() as t:
        report = scene_set_add_items(
            scene_set_id=scene_set.pk, actor=user, filters=filters, confirm=True
        )
    out["add_filters"] = {"scenes": report.added, "s": round(t.seconds, 2),
                          "added_mb": peak_mb() - base}  # fmt: skip
    base = reset_peak()
    with Timer() as t:
        # Every scene, flagged or not: the freeze's cost at its full size.
        version = services.scene_set_freeze(
            scene_set_id=scene_set.pk, actor=user, confirm=True, include_flagged=True
        )
    out["freeze"] = {"s": round(t.seconds, 2), "added_mb": peak_mb() - base}
    for fmt in ("jsonl", "csv", "parquet"):
        base = reset_peak()
        size = 0
        with Timer() as t:
            for chunk in manifest.iter_manifest(version, fmt):
                size += len(chunk)
        out[fmt] = {"s": round(t.seconds, 2), "added_mb": peak_mb() - base,
                    "mib": round(size / MIB, 1)}  # fmt: skip
    out["process_rss_mb"] = base
    return out


def print_sets(sets: dict) -> None:
    print("\nsets:", json.dumps(sets), flush=True)


# --- lists -------------------------------------------------------------------------------


def run_lists(args) -> dict:
    """bench/lists.py at the same size, in its own process and database."""
    command = [sys.executable, str(ROOT / "bench" / "lists.py"), "--scenes", str(args.scenes),
               "--repeats", "20"]  # fmt: skip
    print("\n$ " + " ".join(command), flush=True)
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = proc.stdout.strip().splitlines()
    sys.stdout.write("\n".join(lines[:-1])[-8000:] + "\n")  # its tables, not its JSON
    if proc.returncode != 0:
        sys.stdout.write(proc.stderr[-2000:])
        return {"error": f"bench/lists.py exited {proc.returncode}"}
    return json.loads(lines[-1])


# --- summary -----------------------------------------------------------------------------


def summary(args, vectors, sets, lists, sizes, builds, memory: PgMemory) -> dict:
    from catalog.models import Scene

    ours = vectors["bit"]
    arms = {arm: vectors[arm] for arm in ARMS if arm in vectors}
    table = sizes["embeddings_frameembedding_heap_mib"] + sizes["embeddings_frame_heap_mib"]
    return {
        "bench": "scale",
        "scenes": Scene.objects.count(),
        "frames": args.scenes * args.frames_per_scene,
        "recall_at_10": {label: row["recall"] for label, row in ours.items()},
        "p95_ms": {label: row["p95"] for label, row in ours.items()},
        "list_p95_ms": lists.get("list_p95_ms"),
        "index_mib": sizes.get("bit_index_mib"),
        "table_mib": round(table, 1),
        "build_s": builds.get("bit_build_s"),
        "arms": arms,
        "sizes_mib": sizes,
        "builds_s": builds,
        "pg_peak_pss_mib": {k: round(v) for k, v in memory.peaks.items()},
        "web_peak_rss_mb": vectors["web_peak_rss_mb"],
        "prewarm": vectors["prewarm"],
        "sets": sets,
        "loadavg_1m": round(os.getloadavg()[0], 1),
    }


if __name__ == "__main__":
    main()
