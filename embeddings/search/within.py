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

from embeddings.search.plan import FE, RESTRICTION_SQL, SE, Plan, VectorScope

_HALF = np.dtype(">f2")  # halfvec_send: int16 dim, int16 unused, then big-endian halves


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
    """Keep loaded batches for the queries run inside (and drop them after)."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def batch_for(scope: VectorScope) -> Batch:
    key = (scope.model_id, scope.dim, scope.within)
    cache = _cache.get()
    if cache is not None and key in cache:
        return cache[key]
    batch = _load(scope)
    if cache is not None:
        cache.clear()  # one batch at a time: a run moves on to the next one
        cache[key] = batch
    return batch


def _vectors(rows: list[bytes], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The vectors (float32: every half is exact in it) and their norms."""
    if not rows:
        return np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.float32)
    raw = np.frombuffer(b"".join(bytes(r)[4:] for r in rows), dtype=_HALF)
    vectors = raw.reshape(len(rows), dim).astype(np.float32)
    return vectors, np.linalg.norm(vectors, axis=1)


def _load(scope: VectorScope) -> Batch:
    pks = list(scope.within or ())
    model = int(scope.model_id)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT frame_id, scene_id, camera, halfvec_send(embedding) FROM {FE} "
            f"WHERE model_id = {model} AND scene_id = ANY(%s) ORDER BY frame_id",
            [pks],
        )
        frames = cur.fetchall()
        cur.execute(
            f"SELECT scene_id, halfvec_send(embedding) FROM {SE} "
            f"WHERE model_id = {model} AND scene_id = ANY(%s) ORDER BY scene_id",
            [pks],
        )
        scenes = cur.fetchall()
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
    more than the restriction itself)."""
    if scope.filter_sql == RESTRICTION_SQL:
        return np.array(scope.within or (), dtype=np.int64)  # nothing else to test
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id FROM catalog_scene s WHERE {scope.filter_sql}",
            list(scope.filter_params),
        )
        return np.array([row[0] for row in cur.fetchall()], dtype=np.int64)


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


def _distances(vectors: np.ndarray, norms: np.ndarray, query: np.ndarray) -> np.ndarray:
    q = np.asarray(query, dtype=np.float32).astype(np.float16).astype(np.float32)
    scale = norms * max(float(np.linalg.norm(q)), 1e-30)
    return 1.0 - (vectors @ q) / np.maximum(scale, 1e-30)


def _best_per_scene(batch: Batch, mask: np.ndarray, query: np.ndarray):
    """(frame rows, distances) of each allowed scene's best frame, best scenes first."""
    rows = np.flatnonzero(mask)
    if not len(rows):
        return rows, np.zeros(0, dtype=np.float32)
    # Over every loaded row (no copy of the allowed ones): one matrix-vector product.
    distance = _distances(batch.frame_vectors, batch.frame_norms, query)[rows]
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
    distances = _distances(batch.scene_vectors, batch.scene_norms, query)[rows]
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
