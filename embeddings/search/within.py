"""Queries over a few given scenes (a `VectorScope` restricted to them: standing queries
over the scenes that just finished embedding), answered exactly from their vectors in
memory.

The scenes' frame and scene vectors are read once into a `Batch` (as float32, with their
norms: each query is then one matrix-vector product).
Inside `batch_cache()` every further query over the same scenes - the other standing
queries of a run - reuses it: 100 queries over 1,000 new scenes read the vectors once and
each costs a matrix-vector product, not a scan. Which rows a scope allows is still
decided by SQL, the one definition of each condition: scene filters (`filter_sql`) and
moment conditions (`frame_sql`) select ids; cameras and the excluded example scene are
plain comparisons on the loaded rows.

A caller ranking many requests over one batch primes it first (`run.prime_within`):
all their filters in one query (a column each), all their query vectors' distances in
one matrix product, and their words against the batch's tags in one query; each
ranking then reads those instead of asking again.

Scores are pgvector's: the cosine distance between the float16 vectors (the query is
rounded to float16 too, as `%s::halfvec` does), computed in float32. Ties break as the
SQL plans do: a scene's best frame by (distance, frame id), scenes by (distance, id).
"""

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection

from catalog.sql import binary_rows
from embeddings.binary import halfvecs_to_array
from embeddings.search.plan import FE, RESTRICTION_SQL, SE, Plan, VectorScope, within_literal
from embeddings.search.text import TAGS_TSVECTOR


@dataclass(frozen=True)
class Batch:
    key: tuple
    frame_ids: np.ndarray  # int64, one row per frame vector
    frame_scenes: np.ndarray  # int64
    frame_cameras: np.ndarray  # str
    frame_vectors: np.ndarray  # float32 (frames, dim): the stored halves, exactly
    frame_norms: np.ndarray  # float32 (frames,)
    scene_pks: np.ndarray  # int64, one row per scene vector
    scene_vectors: np.ndarray  # float32 (scenes, dim)
    scene_norms: np.ndarray  # float32 (scenes,)


_cache: contextvars.ContextVar[dict | None] = contextvars.ContextVar("within_cache", default=None)


@contextmanager
def batch_cache() -> Iterator[None]:
    """Keep loaded batches (and which of their scenes pass each filter) for the queries
    run inside, and drop them after."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _slot(within: tuple[int, ...] | None) -> dict | None:
    """The cache of the batch `within` (None outside `batch_cache()`): one batch at a
    time, as a run moves on to the next one."""
    cache = _cache.get()
    if cache is None:
        return None
    if cache.get("within") != within:
        cache.clear()
        cache["within"] = within
    return cache


def batch_for(scope: VectorScope) -> Batch:
    key = ("batch", scope.model_id, scope.dim)
    slot = _slot(scope.within)
    if slot is not None and key in slot:
        return slot[key]
    batch = _load(scope)
    if slot is not None:
        slot[key] = batch
    return batch


def _vectors(rows: list[bytes], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The vectors and their norms."""
    vectors = halfvecs_to_array(rows, dim)
    return vectors, np.linalg.norm(vectors, axis=1)


def _load(scope: VectorScope) -> Batch:
    pks = tuple(scope.within or ())
    model = int(scope.model_id)
    # In binary: a vector arrives as its 1 KB of halves, not as 2 KB of hex to decode.
    frames = binary_rows(
        f"SELECT frame_id, scene_id, camera, halfvec_send(embedding) FROM {FE} "
        f"WHERE model_id = {model} AND scene_id = ANY(%s::bigint[]) ORDER BY frame_id",
        [within_literal(pks)],
    )
    scenes = binary_rows(
        f"SELECT scene_id, halfvec_send(embedding) FROM {SE} "
        f"WHERE model_id = {model} AND scene_id = ANY(%s::bigint[]) ORDER BY scene_id",
        [within_literal(pks)],
    )
    frame_vectors, frame_norms = _vectors([r[3] for r in frames], scope.dim)
    scene_vectors, scene_norms = _vectors([r[1] for r in scenes], scope.dim)
    return Batch(
        key=(scope.model_id, scope.dim, scope.within),
        frame_ids=np.array([r[0] for r in frames], dtype=np.int64),
        frame_scenes=np.array([r[1] for r in frames], dtype=np.int64),
        frame_cameras=np.array([r[2] for r in frames], dtype=object),
        frame_vectors=frame_vectors,
        frame_norms=frame_norms,
        scene_pks=np.array([r[0] for r in scenes], dtype=np.int64),
        scene_vectors=scene_vectors,
        scene_norms=scene_norms,
    )


# --- which rows the scope allows ---------------------------------------------------------


def _passing_scenes(scope: VectorScope) -> np.ndarray:
    """Scenes of the scope that pass its scene filter (one SQL query when it filters
    more than the restriction itself; inside `batch_cache()`, once per distinct filter:
    standing queries often share one)."""
    if scope.filter_sql == RESTRICTION_SQL:
        return np.array(scope.within or (), dtype=np.int64)  # nothing else to test
    cache = _slot(scope.within)
    key = _passing_key(scope)
    if cache is not None and key in cache:
        return cache[key]
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id FROM catalog_scene s WHERE {scope.filter_sql}",
            list(scope.filter_params),
        )
        passing = np.array([row[0] for row in cur.fetchall()], dtype=np.int64)
    if cache is not None:
        cache[key] = passing
    return passing


_TAGS_VECTOR = TAGS_TSVECTOR.format(alias="s")
# Columns per priming query (PostgreSQL allows 1,664 in a select list).
PRIME_COLUMNS = 200


def prime_filters(scopes: Sequence[VectorScope]) -> None:
    """Inside `batch_cache()`: evaluate the scene filters of `scopes` (restricted to given
    scenes) in one query per PRIME_COLUMNS distinct filters, a boolean column
    each, instead of one query per filter when each ranks. The restriction's constant
    array costs one hash table per column (PostgreSQL hashes `= ANY` over a constant
    array), not a scan per row."""
    if _cache.get() is None:
        return
    by_within: dict[tuple, dict[tuple, VectorScope]] = {}
    for scope in scopes:
        if scope.within is not None and scope.filter_sql != RESTRICTION_SQL:
            by_within.setdefault(scope.within, {}).setdefault(_passing_key(scope), scope)
    for within, pending in by_within.items():
        cache = _slot(within)
        keyed = [(key, scope) for key, scope in pending.items() if key not in cache]
        for start in range(0, len(keyed), PRIME_COLUMNS):
            chunk = keyed[start : start + PRIME_COLUMNS]
            # Text queries' tag scopes each test the scene's tag vector: computed once per
            # scene (a lateral column), not once per scene and filter.
            filters = [_unrestricted(scope) for _, scope in chunk]
            # Per filter, the ids of the scenes passing it (one row of arrays).
            columns = ", ".join(
                f"coalesce(array_agg(s.id) FILTER (WHERE {sql.replace(_TAGS_VECTOR, 'tv.v')}), "
                "'{}')"
                for sql, _ in filters
            )
            params = [p for _, filter_params in filters for p in filter_params]
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT {columns} FROM catalog_scene s "
                    # OFFSET 0: computed here, not inlined into every column.
                    f"CROSS JOIN LATERAL (SELECT {_TAGS_VECTOR} AS v OFFSET 0) tv "
                    f"WHERE {RESTRICTION_SQL}",
                    [*params, within_literal(within)],
                )
                row = cur.fetchone()
            for (key, _), passing in zip(chunk, row, strict=True):
                cache[key] = np.array(passing, dtype=np.int64)


def prime_matched_tags(within: tuple[int, ...], tsqueries: Sequence[str]) -> None:
    """Inside `batch_cache()`: which tags of the batch's scenes match each tsquery
    (`text.matched_tags` for every scene and query at once): each distinct tag is
    matched against each query once, not once per scene and query."""
    slot = _slot(within)
    tsqueries = sorted(set(filter(None, tsqueries)))
    if slot is None or not tsqueries:
        return
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id, s.tags FROM catalog_scene s WHERE {RESTRICTION_SQL}",
            [within_literal(within)],
        )
        scene_tags = {pk: list(tags or ()) for pk, tags in cur.fetchall()}
        # OFFSET 0: each tag's vector computed once, not once per query.
        cur.execute(
            "WITH v AS (SELECT tag, to_tsvector('english', tag) AS tv "
            "FROM unnest(%s::text[]) AS tag OFFSET 0) "
            "SELECT q.i, v.tag FROM v CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS q(tsq, i) "
            "WHERE v.tv @@ q.tsq::tsquery ORDER BY q.i, v.tag",
            [sorted({t for tags in scene_tags.values() for t in tags}), tsqueries],
        )
        matching: dict[str, list[str]] = {q: [] for q in tsqueries}
        for i, tag in cur.fetchall():
            matching[tsqueries[i - 1]].append(tag)
    for tsquery, tags in matching.items():
        by_scene = {}
        for pk, own in scene_tags.items():
            matched = [t for t in tags for _ in range(own.count(t))]
            if matched:
                by_scene[pk] = matched
        slot[("tags", tsquery)] = by_scene


def primed_matched_tags(scope: VectorScope, scene_pks, tsquery: str) -> dict | None:
    """`text.matched_tags(scene_pks, tsquery)` from `prime_matched_tags` (None: not
    primed for this batch and query)."""
    cache = _cache.get()
    if cache is None or scope.within is None or cache.get("within") != scope.within:
        return None
    primed = cache.get(("tags", tsquery))
    if primed is None:
        return None
    return {pk: primed[pk] for pk in scene_pks if pk in primed}


def _unrestricted(scope: VectorScope) -> tuple[str, list]:
    """The scope's filter with its restriction to the batch as TRUE (the priming query
    restricts its rows to the batch once, instead of once per column)."""
    before, restriction, after = scope.filter_sql.partition(RESTRICTION_SQL)
    if not restriction or RESTRICTION_SQL in after:
        return scope.filter_sql, list(scope.filter_params)
    params = list(scope.filter_params)
    del params[before.count("%s")]
    return f"{before}TRUE{after}", params


def _passing_key(scope: VectorScope) -> tuple:
    return ("passing", scope.filter_sql, _hashable(scope.filter_params))


def _hashable(value):
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _frame_mask(scope: VectorScope, batch: Batch, scenes: np.ndarray | None = None) -> np.ndarray:
    mask = np.isin(batch.frame_scenes, _passing_scenes(scope) if scenes is None else scenes)
    if scope.cameras:
        mask &= np.isin(batch.frame_cameras, list(scope.cameras))
    if scope.exclude_scene_pk is not None:
        mask &= batch.frame_scenes != scope.exclude_scene_pk
    if scope.has_moment_conditions and mask.any():
        with connection.cursor() as cur:
            # Conditions name the vector row `fe` or its frame `mf`: both are joined.
            cur.execute(
                f"SELECT fe.frame_id FROM {FE} fe JOIN embeddings_frame mf ON mf.id = fe.frame_id "
                f"WHERE fe.model_id = {int(scope.model_id)} "
                f"AND fe.frame_id = ANY(%s) AND ({scope.frame_sql})",
                [batch.frame_ids[mask].tolist(), *scope.frame_params],
            )
            qualifying = [row[0] for row in cur.fetchall()]
        mask &= np.isin(batch.frame_ids, np.array(qualifying, dtype=np.int64))
    return mask


def _rounded(query: np.ndarray) -> np.ndarray:
    return np.asarray(query, dtype=np.float32).astype(np.float16).astype(np.float32)


def _distance_matrix(vectors: np.ndarray, norms: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(queries, rows) cosine distances of rounded queries to the vectors."""
    scale = np.maximum(np.linalg.norm(queries, axis=1), 1e-30)[:, None] * norms[None, :]
    return 1.0 - (queries @ vectors.T) / np.maximum(scale, 1e-30)


FRAMES, SCENES = 0, 1


def _distances(batch: Batch, query: np.ndarray, which: int) -> np.ndarray:
    """Distances of the query to every frame (FRAMES) or scene (SCENES) vector of the
    batch: primed by `prime_distances`, or one matrix-vector product."""
    q = _rounded(query)
    cache = _cache.get()
    primed = cache.get(("distances", batch.key, q.tobytes())) if cache is not None else None
    if primed is not None:
        return primed[which]
    if which == FRAMES:
        return _distance_matrix(batch.frame_vectors, batch.frame_norms, q[None, :])[0]
    return _distance_matrix(batch.scene_vectors, batch.scene_norms, q[None, :])[0]


def prime_distances(scope: VectorScope, queries: Sequence[np.ndarray]) -> None:
    """Inside `batch_cache()`: the distances of each query to every vector of the
    scope's batch, in one matrix product for all of them. Each query on its own reads
    the batch's vectors once more (memory-bound: ~0.3 ms per 4,000 frames); together
    they read them once."""
    slot = _slot(scope.within)
    if slot is None or not len(queries):
        return
    batch = batch_for(scope)
    rounded = np.stack([_rounded(q) for q in queries])
    frames = _distance_matrix(batch.frame_vectors, batch.frame_norms, rounded)
    scenes = _distance_matrix(batch.scene_vectors, batch.scene_norms, rounded)
    for i, q in enumerate(rounded):
        slot[("distances", batch.key, q.tobytes())] = (frames[i], scenes[i])


def _best_per_scene(batch: Batch, mask: np.ndarray, query: np.ndarray):
    """(frame rows, distances) of each allowed scene's best frame, best scenes first."""
    rows = np.flatnonzero(mask)
    if not len(rows):
        return rows, np.zeros(0, dtype=np.float32)
    # Over every loaded row (no copy of the allowed ones).
    distance = _distances(batch, query, FRAMES)[rows]
    # Per scene: the smallest distance, ties to the smaller frame id.
    order = np.lexsort((batch.frame_ids[rows], distance, batch.frame_scenes[rows]))
    scenes = batch.frame_scenes[rows][order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = scenes[1:] != scenes[:-1]
    best, best_distance = rows[order][first], distance[order][first]
    ranked = np.lexsort((batch.frame_scenes[best], best_distance))
    return best[ranked], best_distance[ranked]


# --- the three queries vector search makes ---------------------------------------------


def nearest_scenes(scope: VectorScope, query: np.ndarray, limit: int, *, min_score=None):
    """As `vector_sql.nearest_scenes`: each scene's best frame, best scenes first."""
    from embeddings.search.vector_sql import FrameHit

    batch = batch_for(scope)
    rows, distances = _best_per_scene(batch, _frame_mask(scope, batch), query)
    if min_score is not None:
        keep = distances <= 1.0 - min_score
        rows, distances = rows[keep], distances[keep]
    hits = [
        FrameHit(
            int(batch.frame_ids[r]), int(batch.frame_scenes[r]), batch.frame_cameras[r], float(d)
        )
        for r, d in zip(rows[:limit], distances[:limit], strict=True)
    ]
    plan = Plan(
        "exact",
        f"restricted to {len(scope.within or ())} scenes (in memory)",
        total_frames=len(batch.frame_ids),
        matched_frames_est=float(len(batch.frame_ids)),
    )
    return hits, plan


def moments_of(scope: VectorScope, query: np.ndarray, scene_pks: Sequence[int]):
    """As `vector_sql.moments_of`: the frame of each given scene nearest the query."""
    from embeddings.search.vector_sql import FrameHit

    batch = batch_for(scope)
    mask = _frame_mask(scope, batch, scenes=np.array(list(scene_pks), dtype=np.int64))
    rows, distances = _best_per_scene(batch, mask, query)
    return [
        FrameHit(
            int(batch.frame_ids[r]), int(batch.frame_scenes[r]), batch.frame_cameras[r], float(d)
        )
        for r, d in zip(rows, distances, strict=True)
    ]


def similar_scenes(scope: VectorScope, query: np.ndarray, limit: int, *, min_score=None):
    """As `similarity.similar_scenes`: scenes by their scene vector, nearest first."""
    from embeddings.similarity import SceneHit

    batch = batch_for(scope)
    counted = scope.scene_level()  # moment conditions: "has a qualifying moment"
    passing = _passing_scenes(counted)
    mask = np.isin(batch.scene_pks, passing)
    if scope.exclude_scene_pk is not None:
        mask &= batch.scene_pks != scope.exclude_scene_pk
    rows = np.flatnonzero(mask)
    distances = _distances(batch, query, SCENES)[rows]
    order = np.lexsort((batch.scene_pks[rows], distances))
    rows, distances = rows[order], distances[order]
    if min_score is not None:
        keep = distances <= 1.0 - min_score
        rows, distances = rows[keep], distances[keep]
    hits = [
        SceneHit(int(batch.scene_pks[r]), 1.0 - float(d))
        for r, d in zip(rows[:limit], distances[:limit], strict=True)
    ]
    reason = f"restricted to {len(scope.within or ())} scenes (in memory)"
    return hits, {"arm": "exact", "reason": reason}
