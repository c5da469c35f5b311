"""Filtered nearest-neighbour search over frame vectors: the SQL of both plans and
running them (the choice between them is embeddings/search/plan.py).

- exact: distances of exactly the filter's frames (btree (model, scene)), best first;
- HNSW: one statement walks the frame graph (the moments) and the scene-vector graph
  (scenes similar throughout) with `relaxed_order` iterative scans, `ef_search` and
  `max_scan_tuples` set per query with `set_config(..., is_local => true)` (and
  `enable_sort` off, so the planner cannot swap the index for a sorted join), then
  scores every frame of the reached scenes exactly (see `hnsw_rerank_sql`); if a walk
  runs out of budget before the filter runs out of matches, the exact scan answers.

Index use is structural, not left to luck: the walks order by exactly the indexed
expression `embedding::halfvec(dim)` under `model_id = <id>` (the partial index's
predicate, inlined as a literal), with nothing after the distance in their ORDER BY;
exact distances are computed inside MATERIALIZED CTEs that have no ORDER BY, so the
planner cannot turn them into index scans. Settings are transaction-local and, inside a
caller's transaction, rolled back with a savepoint: nothing leaks to later queries.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from embeddings.search import within
from embeddings.search.plan import (
    FE,
    MOMENT_JOIN,
    SE,
    Plan,
    VectorScope,
    choose_plan,
    hnsw_settings,
    selectivity,
)
from embeddings.vector_index import frame_walk_distance_sql, walk_sizes

# Frames walked per wanted scene: the moments that match best. (Scenes similar
# throughout come from the scene-vector walk, so this need not cover `limit` scenes.)
FRAMES_PER_SCENE = 2
MIN_FETCH_FRAMES = 40
MAX_FETCH_FRAMES = 50_000


@dataclass(frozen=True)
class FrameHit:
    frame_id: int
    scene_pk: int
    camera: str
    distance: float  # cosine distance; score = 1 - distance

    @property
    def score(self) -> float:
        return 1.0 - self.distance


# --- SQL ---------------------------------------------------------------------------------


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def _where(scope: VectorScope, *, scene_pks: list[int] | None, join: bool) -> tuple[str, list]:
    # model_id and dim are integers from our own table, inlined so the planner can prove
    # the partial index's predicate `model_id = <id>` at plan time.
    clauses = [f"fe.model_id = {int(scope.model_id)}"]
    params: list = []
    if scene_pks is not None:
        clauses.append("fe.scene_id = ANY(%s)")
        params.append(scene_pks)
    elif join:
        clauses.append(f"({scope.filter_sql})")
        params.extend(scope.filter_params)
    if scope.cameras:
        clauses.append("fe.camera = ANY(%s)")
        params.append(list(scope.cameras))
    if scope.exclude_scene_pk is not None:
        clauses.append("fe.scene_id <> %s")
        params.append(scope.exclude_scene_pk)
    if scope.has_moment_conditions:
        clauses.append(f"({scope.frame_sql})")
        params.extend(scope.frame_params)
    return " AND ".join(clauses), params


def _from(scope: VectorScope, *, scene_pks: list[int] | None) -> tuple[str, bool]:
    join = scope.filtered and scene_pks is None
    sql = f"{FE} fe JOIN catalog_scene s ON s.id = fe.scene_id" if join else f"{FE} fe"
    return sql + _moment_join(scope), join


def _moment_join(scope: VectorScope) -> str:
    return f" {MOMENT_JOIN}" if scope.has_moment_conditions else ""


def hnsw_frames_sql(
    scope: VectorScope, qvec: str, n: int, *, resort: bool = True
) -> tuple[str, list]:
    """Top-n frames through the HNSW index. The inner ORDER BY is the bare distance to
    the indexed expression - a tie-breaker after it would disable the index. With a `bit`
    index that distance is Hamming's: callers re-score exactly (hnsw_rerank_sql)."""
    dist = frame_walk_distance_sql(scope.frame_index, int(scope.dim))
    source, join = _from(scope, scene_pks=None)
    where, params = _where(scope, scene_pks=None, join=join)
    inner = (
        f"SELECT fe.frame_id, fe.scene_id, fe.camera, {dist} AS distance FROM {source} "
        f"WHERE {where} ORDER BY distance LIMIT %s"
    )
    params = [qvec, *params, n]
    if not resort:
        return inner, params
    # relaxed_order returns rows roughly by distance; restore exact order outside. "+ 0":
    # PostgreSQL 17+ believes the CTE is already sorted by distance and would drop a
    # plain ORDER BY distance.
    return f"WITH c AS MATERIALIZED ({inner}) SELECT * FROM c ORDER BY distance + 0", params


def _exact_cte(scope: VectorScope, qvec: str, scene_pks: list[int] | None) -> tuple[str, list]:
    dist = f"fe.embedding::halfvec({int(scope.dim)}) <=> %s::halfvec({int(scope.dim)})"
    source, join = _from(scope, scene_pks=scene_pks)
    where, params = _where(scope, scene_pks=scene_pks, join=join)
    cte = (
        f"WITH c AS MATERIALIZED (SELECT fe.frame_id, fe.scene_id, fe.camera, "
        f"{dist} AS distance FROM {source} WHERE {where})"
    )
    return cte, [qvec, *params]


def exact_frames_sql(
    scope: VectorScope, qvec: str, n: int, *, scene_pks: list[int] | None = None
) -> tuple[str, list]:
    cte, params = _exact_cte(scope, qvec, scene_pks)
    return f"{cte} SELECT * FROM c ORDER BY distance, frame_id LIMIT %s", [*params, n]


def exact_scenes_sql(
    scope: VectorScope,
    qvec: str,
    limit: int,
    *,
    scene_pks: list[int] | None = None,
    max_distance: float | None = None,
) -> tuple[str, list]:
    """Exact best frame per scene, best scenes first, in one statement."""
    cte, params = _exact_cte(scope, qvec, scene_pks)
    cut = ""
    if max_distance is not None:
        cut = "WHERE distance <= %s"
        params.append(max_distance)
    sql = (
        f"{cte}, best AS (SELECT DISTINCT ON (scene_id) * FROM c "
        f"ORDER BY scene_id, distance, frame_id) "
        f"SELECT * FROM best {cut} ORDER BY distance, scene_id LIMIT %s"
    )
    return sql, [*params, limit]


# One row per scene of `e`: its best frame (ties: the lower frame id).
BEST_PER_SCENE = "(SELECT DISTINCT ON (scene_id) * FROM e ORDER BY scene_id, distance, frame_id)"


def _rescore_cte(scope: VectorScope, qvec: str) -> tuple[str, list]:
    """`e`: every frame in scope of the scenes in the CTE `cand`, scored exactly. No
    ORDER BY inside: this scan can only be a plain one, never the HNSW index."""
    dim = int(scope.dim)
    where, where_params = _where(scope, scene_pks=None, join=False)
    sql = (
        f"e AS MATERIALIZED (SELECT fe.frame_id, fe.scene_id, fe.camera, "
        f"fe.embedding::halfvec({dim}) <=> %s::halfvec({dim}) AS distance "
        f"FROM {FE} fe{_moment_join(scope)} WHERE {where} "
        "AND fe.scene_id IN (SELECT scene_id FROM cand))"
    )
    return sql, [qvec, *where_params]


def scene_scan_sql(
    scope: VectorScope,
    qvec: str,
    *,
    scene_pks: list[int],
    rescored: int,
    limit: int,
    max_distance: float | None = None,
) -> tuple[str, list]:
    """The scene scan (plan arm "scenes"): the exact distance of each of `scene_pks`'
    mean vector, then every frame of the `rescored` best of them scored exactly, best
    first, one row per scene. Scenes without a scene vector yet are not found (as by the
    scene walk)."""
    dim = int(scope.dim)
    clauses = [f"se.model_id = {int(scope.model_id)}", "se.scene_id = ANY(%s)"]
    params: list = [qvec, scene_pks]
    if scope.exclude_scene_pk is not None:
        clauses.append("se.scene_id <> %s")
        params.append(scope.exclude_scene_pk)
    rescore, rescore_params = _rescore_cte(scope, qvec)
    cut = ""
    if max_distance is not None:
        cut = "WHERE r.distance <= %s"
    sql = (
        # No ORDER BY inside: the distances of exactly these scenes, never the index. The
        # inner product ranks unit vectors as cosine does, at a third of the cost (~0.4 us
        # against ~1.2 for 512-d halfvecs): it only picks the scenes scored below.
        f"WITH sd AS MATERIALIZED (SELECT se.scene_id, se.embedding::halfvec({dim}) <#> "
        f"%s::halfvec({dim}) AS distance FROM {SE} se WHERE {' AND '.join(clauses)}), "
        "cand AS MATERIALIZED (SELECT scene_id FROM sd ORDER BY distance + 0 LIMIT %s), "
        f"{rescore} SELECT r.frame_id, r.scene_id, r.camera, r.distance FROM {BEST_PER_SCENE} r "
        f"{cut} ORDER BY r.distance, r.scene_id LIMIT %s"
    )
    params = [*params, rescored, *rescore_params]
    if max_distance is not None:
        params.append(max_distance)
    return sql, [*params, limit]


def hnsw_scenes_sql(scope: VectorScope, qvec: str, n: int) -> tuple[str, list]:
    """Top-n scenes by their mean vector through the model's scene HNSW index (same
    rules as hnsw_frames_sql; cameras are applied when the frames are scored)."""
    scope = scope.scene_level()
    dim = int(scope.dim)
    clauses = [f"se.model_id = {int(scope.model_id)}"]
    params: list = [qvec]
    source = f"{SE} se"
    if scope.filtered:
        source += " JOIN catalog_scene s ON s.id = se.scene_id"
        clauses.append(f"({scope.filter_sql})")
        params.extend(scope.filter_params)
    if scope.exclude_scene_pk is not None:
        clauses.append("se.scene_id <> %s")
        params.append(scope.exclude_scene_pk)
    sql = (
        f"SELECT se.scene_id, se.embedding::halfvec({dim}) <=> %s::halfvec({dim}) AS distance "
        f"FROM {source} WHERE {' AND '.join(clauses)} ORDER BY distance LIMIT %s"
    )
    return sql, [*params, n]


def hnsw_rerank_sql(
    scope: VectorScope,
    qvec: str,
    *,
    frames: int,
    scenes: int,
    limit: int,
    per_scene: bool,
    max_distance: float | None = None,
) -> tuple[str, list]:
    """One statement: two HNSW walks - `frames` nearest frames (the moments) and
    `scenes` nearest scenes by mean vector - then every frame of the scenes either walk
    reached scored exactly, best first (one row per scene when `per_scene`). Each row
    also carries what the walks saw (frame rows, scene rows), so the caller can tell a
    walk that ran out of budget; a row with NULL frame_id carries only those.

    Why both walks and the re-score: the frame graph leaves some nodes unreachable.
    Near-duplicate frames of one scene crowd each other out of neighbour lists, and a
    scene's frames can end up an island that no ef_search reaches (bench: recall@10
    stuck at 0.92-0.935 for ef 40..400 and fetch 10..40, every miss a sibling of a found
    frame or a whole scene never reached). In the scene graph each scene is one node, so
    there is no such crowding; and a scene reached either way has all its frames scored
    exactly, for ~10 distances per scene."""
    frame_walk, params = hnsw_frames_sql(scope, qvec, frames, resort=False)
    scene_walk, scene_params = hnsw_scenes_sql(scope, qvec, scenes)
    rescore, rescore_params = _rescore_cte(scope, qvec)
    best = BEST_PER_SCENE if per_scene else "e"
    cut = ""
    if max_distance is not None:
        cut = "WHERE r.distance <= %s"
    sql = (
        f"WITH c AS MATERIALIZED ({frame_walk}), sc AS MATERIALIZED ({scene_walk}), "
        f"cand AS (SELECT scene_id FROM c UNION SELECT scene_id FROM sc), {rescore}, "
        "seen AS (SELECT (SELECT count(*) FROM c) AS frames, (SELECT count(*) FROM sc) AS scenes) "
        "SELECT r.frame_id, r.scene_id, r.camera, r.distance, seen.frames, seen.scenes "
        "FROM seen LEFT JOIN LATERAL "
        f"(SELECT * FROM {best} r {cut} ORDER BY r.distance + 0, r.scene_id, r.frame_id "
        "LIMIT %s) r ON TRUE"
    )
    params = [*params, *scene_params, *rescore_params]
    if max_distance is not None:
        params.append(max_distance)
    return sql, [*params, limit]


# --- execution ---------------------------------------------------------------------------


@contextmanager
def local_settings(settings: dict[str, str]) -> Iterator:
    """A cursor inside a transaction with `settings` applied as SET LOCAL.

    Inside a caller's transaction a SET LOCAL would outlive this block, so there we run
    in a savepoint and roll it back afterwards (the queries only read)."""
    if connection.in_atomic_block:
        sid = transaction.savepoint()
        try:
            with connection.cursor() as cur:
                _apply(cur, settings)
                yield cur
        finally:
            transaction.savepoint_rollback(sid)
    else:
        with transaction.atomic(), connection.cursor() as cur:
            _apply(cur, settings)
            yield cur


def _apply(cur, settings: dict[str, str]) -> None:
    if not settings:
        return
    # SET cannot take bind parameters; set_config(..., true) is SET LOCAL that can. One
    # statement for all of them: one round trip.
    calls = ", ".join("set_config(%s, %s, true)" for _ in settings)
    cur.execute(f"SELECT {calls}", [x for item in settings.items() for x in item])


def _hits(rows) -> list[FrameHit]:
    return [FrameHit(int(r[0]), int(r[1]), r[2], float(r[3])) for r in rows]


def run_sql(sql: str, params: list, settings: dict[str, str] | None = None) -> list[FrameHit]:
    if settings:
        with local_settings(settings) as cur:
            cur.execute(sql, params)
            return _hits(cur.fetchall())
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return _hits(cur.fetchall())


def explain(sql: str, params: list, settings: dict[str, str] | None = None) -> str:
    """The plan PostgreSQL chooses for `sql` under `settings` (tests and the bench)."""
    with local_settings(settings or {}) as cur:
        cur.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cur.fetchall())


@dataclass
class Walk:
    """How many rows each HNSW walk returned (fewer than asked: it ran out)."""

    frames: int
    scenes: int


def _walk(scope, qvec, plan, *, frames: int, scenes: int, **kw) -> tuple[list[FrameHit], Walk]:
    share = selectivity(plan)
    frames, scenes = walk_sizes(scope.frame_index, frames=frames, scenes=scenes, share=share)
    plan.settings = hnsw_settings(max(frames, scenes), share, ef=frames)
    sql, params = hnsw_rerank_sql(scope, qvec, frames=frames, scenes=scenes, **kw)
    with local_settings(plan.settings) as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    walk = Walk(int(rows[0][4]), int(rows[0][5]))
    return _hits(r for r in rows if r[0] is not None), walk


def _walk_ran_out(plan: Plan, walk: Walk, *, frames: int, scenes: int, force) -> bool:
    """A walk returned fewer rows than asked although the filter keeps more: it hit
    max_scan_tuples (an anti-correlated filter), so its answer is incomplete."""
    if force == "hnsw":
        return False
    matched = plan.matched_frames_est or 0
    short_frames = walk.frames < frames and matched > walk.frames
    expected_scenes = plan.matched_scenes_est - 1  # less the excluded scene, if any
    short_scenes = walk.scenes < scenes and expected_scenes > walk.scenes
    return short_frames or short_scenes


def nearest_frames(
    scope: VectorScope, query: np.ndarray, k: int, *, force: str | None = None
) -> tuple[list[FrameHit], Plan]:
    """The k nearest frames in scope (exact when the plan is exact)."""
    qvec = vector_literal(query)
    plan = choose_plan(scope, fetch=k, scenes=k, force=force)
    if plan.arm == "exact":
        if plan.scene_pks == []:
            return [], plan
        return run_sql(*exact_frames_sql(scope, qvec, k, scene_pks=plan.scene_pks)), plan
    hits, walk = _walk(scope, qvec, plan, frames=k, scenes=k, limit=k, per_scene=False)
    if _walk_ran_out(plan, walk, frames=k, scenes=k, force=force):
        plan.fallback = True
        return run_sql(*exact_frames_sql(scope, qvec, k)), plan
    return hits, plan


def nearest_scenes(
    scope: VectorScope,
    query: np.ndarray,
    limit: int,
    *,
    min_score: float | None = None,
    force: str | None = None,
) -> tuple[list[FrameHit], Plan]:
    """The best frame of each of the `limit` best scenes in scope, best first.

    Candidates: the scenes of the best `FRAMES_PER_SCENE * limit` frames (scenes with a
    strong moment) and the best `limit + margin` scenes by mean vector (scenes similar
    throughout - and enough distinct scenes in one walk, however the frames bunch).
    A scope restricted to given scenes is answered exactly from their vectors."""
    if scope.within is not None:
        return within.nearest_scenes(scope, query, limit, min_score=min_score)
    qvec = vector_literal(query)
    max_distance = None if min_score is None else 1.0 - min_score
    frames = _clamp_fetch(limit * FRAMES_PER_SCENE)
    scenes = limit + rerank_margin(limit)
    plan = choose_plan(scope, fetch=frames, scenes=scenes, force=force, scene_scan=True)
    if plan.arm == "exact":
        if plan.scene_pks == []:
            return [], plan
        sql, params = exact_scenes_sql(
            scope, qvec, limit, scene_pks=plan.scene_pks, max_distance=max_distance
        )
        return run_sql(sql, params), plan
    if plan.arm == "scenes":
        sql, params = scene_scan_sql(
            scope,
            qvec,
            scene_pks=plan.scene_pks,
            rescored=plan.rescored_scenes,
            limit=limit,
            max_distance=max_distance,
        )
        return run_sql(sql, params), plan
    hits, walk = _walk(
        scope,
        qvec,
        plan,
        frames=frames,
        scenes=scenes,
        limit=limit,
        per_scene=True,
        max_distance=max_distance,
    )
    if _walk_ran_out(plan, walk, frames=frames, scenes=scenes, force=force):
        plan.fallback = True
        sql, params = exact_scenes_sql(scope, qvec, limit, max_distance=max_distance)
        return run_sql(sql, params), plan
    return hits, plan


def _clamp_fetch(n: float) -> int:
    return int(min(MAX_FETCH_FRAMES, max(MIN_FETCH_FRAMES, math.ceil(n))))


def rerank_margin(limit: int) -> int:
    # Scenes past the limit by mean vector may move up by their best frame (bench:
    # recall of the top 50 scenes 0.95 with limit/2 more, 0.98-1.0 with limit more).
    return max(10, limit)


def moments_of(scope: VectorScope, query: np.ndarray, scene_pks: list[int]) -> list[FrameHit]:
    """The frame of each of `scene_pks` nearest `query` (within the scope's cameras)."""
    if not scene_pks:
        return []
    if scope.within is not None:
        return within.moments_of(scope, query, scene_pks)
    sql, params = exact_scenes_sql(
        scope, vector_literal(query), len(scene_pks), scene_pks=scene_pks
    )
    return run_sql(sql, params)
