"""Whole-scene similarity: the one definition behind "more like this scene",
near-duplicates, dedup, diverse sampling and leakage.

A scene's vector (`SceneEmbedding`, one per scene and model) is the normalised mean of
its normalised frame vectors, all cameras and moments together. Two scenes are as similar
as the cosine of their scene vectors: 1.0 for the same footage, ~0.98 and above for a
re-upload or the same stretch of road driven again in the same conditions, lower as
the content drifts apart. The mean smooths out single moments, so the score measures
the scene as a whole; moments are compared frame by frame elsewhere (`search`).

Neighbours of one scene come from the model's HNSW index over scene vectors (never from
all pairs), or, when a filter keeps few enough scenes, from an exact scan over exactly
those scenes; the plan is chosen per query as for frames (`search.plan`).

Questions about whole groups of scenes - the near-duplicate pairs between two sets or
within one, a diverse sample - load the groups' scene vectors once and answer in memory
(`embeddings.neighbours`: exact, pruned by a partition of the vectors). Measured against
asking the index once per scene (bench/mining.py), that is the cheaper plan for the group
sizes curation allows, and it needs no catalog-wide scan.
"""

import math
from dataclasses import dataclass

import numpy as np
from django.db import connection

from catalog.errors import NotFound
from catalog.models import Scene
from catalog.sql import copy_binary, copy_rows_body, id_array_literal
from embeddings import neighbours
from embeddings.binary import copied_halfvecs
from embeddings.models import EmbeddingModel, SceneEmbedding
from embeddings.search import within
from embeddings.search.plan import SE, VectorScope, model_stats
from embeddings.search.vector_sql import local_settings, vector_literal
from embeddings.selectors import configured_model

NEAR_DUPLICATE_MIN_SCORE = 0.98
# Exact below this many scenes in scope; above, the crossover of the frame planner
# (sqrt(C * fetch * N)) with scene vectors as the rows.
EXACT_MIN_SCENES = 5_000
EXACT_TRADEOFF = 10.0
EXACT_MAX_SCENES = 50_000
EF_SEARCH_MIN = 64
EF_SEARCH_MAX = 1_000
MAX_SCAN_TUPLES_MAX = 2_000_000


@dataclass(frozen=True)
class SceneHit:
    scene_pk: int
    score: float  # cosine similarity of the scene vectors


def scene_vectors(*, scene_pks: list[int], model: EmbeddingModel) -> dict[int, np.ndarray]:
    """The scene vectors of the scenes that have one, as float32 unit vectors."""
    rows = SceneEmbedding.objects.filter(model=model, scene_id__in=scene_pks).values_list(
        "scene_id", "embedding"
    )
    return {pk: _array(stored) for pk, stored in rows}


def _array(stored) -> np.ndarray:
    # pgvector's Django field gives lists; its psycopg adapter, if registered, HalfVector.
    values = stored.to_list() if hasattr(stored, "to_list") else stored
    vector = np.asarray(values, dtype=np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def similar_scenes(
    scope: VectorScope,
    query: np.ndarray,
    limit: int,
    *,
    min_score: float | None = None,
    force: str | None = None,
) -> tuple[list[SceneHit], dict]:
    """The `limit` scenes in scope whose scene vectors are nearest `query`, best first,
    and the plan that found them (`{"arm", "reason"}`). Cameras in scope do not apply: a
    scene vector covers all cameras."""
    if scope.within is not None:
        # A few given scenes (standing queries): exactly, from their vectors in memory.
        return within.similar_scenes(scope, query, limit, min_score=min_score)
    scope = scope.scene_level()
    qvec = vector_literal(query)
    max_distance = None if min_score is None else 1.0 - min_score
    total = max(model_stats(scope.model_id).vector_scenes, 1)
    cap = min(EXACT_MAX_SCENES, max(EXACT_MIN_SCENES, math.sqrt(EXACT_TRADEOFF * limit * total)))
    pks: list[int] | None = None
    if scope.filtered:
        pks = _filter_scene_pks(scope, int(cap) + 1)
        exact = len(pks) <= cap
        reason = f"filter keeps {len(pks)}{'' if exact else '+'} scenes"
    else:
        exact = total <= cap
        reason = f"no filter, ~{total} scenes"
    if force:
        exact = force == "exact"
        reason = f"forced ({reason})"
    if exact:
        if pks == []:
            return [], {"arm": "exact", "reason": reason}
        hits = _run(*_exact_sql(scope, qvec, limit, pks, max_distance))
        return hits, {"arm": "exact", "reason": reason}
    selectivity = 1.0 if pks is None else min(1.0, len(pks) / total)
    hits, walked = _hnsw(scope, qvec, limit, max_distance, selectivity)
    if walked < limit and scope.filtered and force != "hnsw":
        # The walk hit max_scan_tuples before the filter ran out of scenes: answer exactly.
        hits = _run(*_exact_sql(scope, qvec, limit, None, max_distance))
        return hits, {"arm": "hnsw", "reason": reason, "fallback": "exact"}
    return hits, {"arm": "hnsw", "reason": reason}


def near_duplicates(
    *,
    scene_pk: int,
    model: EmbeddingModel,
    min_score: float = NEAR_DUPLICATE_MIN_SCORE,
    limit: int = 100,
) -> list[SceneHit]:
    """Scenes whose whole-scene similarity to `scene_pk` is at least `min_score`, most
    similar first (the scene itself excluded); empty when it has no scene vector."""
    vector = scene_vectors(scene_pks=[scene_pk], model=model).get(scene_pk)
    if vector is None:
        return []
    scope = VectorScope.of_model(model, exclude_scene_pk=scene_pk)
    hits, _ = similar_scenes(scope, vector, limit, min_score=min_score)
    return hits


def scene_duplicates(
    *, scene_id: str, min_score: float = NEAR_DUPLICATE_MIN_SCORE, limit: int = 100
) -> list[dict]:
    """`[{"scene_id", "score"}]`: `near_duplicates` of a scene named by id, with the
    configured model (empty before it has vectors); NotFound for an unknown scene."""
    scene_pk = Scene.objects.filter(scene_id=scene_id).values_list("pk", flat=True).first()
    if scene_pk is None:
        raise NotFound(f"scene {scene_id!r} does not exist")
    model = configured_model()
    if model is None:
        return []
    hits = near_duplicates(scene_pk=scene_pk, model=model, min_score=min_score, limit=limit)
    names = dict(
        Scene.objects.filter(pk__in=[h.scene_pk for h in hits]).values_list("pk", "scene_id")
    )
    return [
        {"scene_id": names[h.scene_pk], "score": round(h.score, 6)}
        for h in hits
        if h.scene_pk in names
    ]


# --- groups of scenes ---------------------------------------------------------------------


@dataclass(frozen=True)
class SceneMatrix:
    """Scene vectors as rows: `pks[i]` is the scene of `vectors[i]` (unit float32)."""

    pks: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.pks)


def scene_vector_matrix(*, scene_pks, model: EmbeddingModel) -> SceneMatrix:
    """The scene vectors of those of `scene_pks` that have one, in scene pk order.

    Read by a binary COPY and decoded by numpy in place (`embeddings.binary`): no
    tuple or number object per row, only COPY's one message per row."""
    dim = int(model.dim)
    body = copy_rows_body(
        copy_binary(
            f"SELECT scene_id, embedding::halfvec({dim}) FROM {SE} "
            f"WHERE model_id = {int(model.id)} "
            f"AND scene_id = ANY('{id_array_literal(scene_pks)}'::bigint[]) ORDER BY scene_id"
        )
    )
    pks, vectors = copied_halfvecs(body, dim)
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    vectors /= np.maximum(norms, 1e-12)[:, None]
    return SceneMatrix(pks, vectors)


@dataclass(frozen=True)
class ScenePairs:
    """Pairs of scenes (pks) and their whole-scene similarity."""

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.left)

    def triples(self) -> list[tuple[int, int, float]]:
        """(left pk, right pk, score) of each pair, as Python values."""
        return list(zip(self.left.tolist(), self.right.tolist(), self.score.tolist(), strict=True))


def near_duplicate_pairs(
    *,
    model: EmbeddingModel,
    left: SceneMatrix,
    right: SceneMatrix | None = None,
    min_score: float = NEAR_DUPLICATE_MIN_SCORE,
) -> ScenePairs:
    """Every pair (a in left, b in right) whose whole-scene similarity is at least
    `min_score`; with `right` None, every such pair within `left`, once, a < b. A
    scene in both matrices pairs with itself (score 1)."""
    pairs = neighbours.close_pairs(
        left.vectors, None if right is None else right.vectors, min_score=min_score
    )
    other = left if right is None else right
    a, b = left.pks[pairs.left], other.pks[pairs.right]
    if right is None:
        a, b = np.minimum(a, b), np.maximum(a, b)
    return ScenePairs(a, b, pairs.score)


def diverse_sample(matrix: SceneMatrix, n: int, *, seed: int, min_score: float) -> list[int]:
    """Up to `n` scene pks far apart in CLIP space: greedy farthest-point sampling from a
    seeded start (`neighbours.farthest_points`). No two picks are near-duplicates (whole-
    scene similarity >= `min_score`); fewer than `n` come back when the rest would be."""
    picks = neighbours.farthest_points(matrix.vectors, n, seed=seed, min_distance=1.0 - min_score)
    return [int(matrix.pks[i]) for i in picks]


# --- SQL -----------------------------------------------------------------------------------


def _distance(scope: VectorScope) -> str:
    dim = int(scope.dim)
    return f"se.embedding::halfvec({dim}) <=> %s::halfvec({dim})"


def _where(scope: VectorScope, pks: list[int] | None) -> tuple[str, str, list]:
    # model_id is inlined so the planner can prove the partial index's predicate.
    clauses, params, source = [f"se.model_id = {int(scope.model_id)}"], [], f"{SE} se"
    if pks is not None:
        clauses.append("se.scene_id = ANY(%s)")
        params.append(pks)
    elif scope.filtered:
        source += " JOIN catalog_scene s ON s.id = se.scene_id"
        clauses.append(f"({scope.filter_sql})")
        params.extend(scope.filter_params)
    if scope.exclude_scene_pk is not None:
        clauses.append("se.scene_id <> %s")
        params.append(scope.exclude_scene_pk)
    return source, " AND ".join(clauses), params


def _exact_sql(scope, qvec, limit, pks, max_distance) -> tuple[str, list]:
    source, where, params = _where(scope, pks)
    cut = "" if max_distance is None else "WHERE distance <= %s"
    # MATERIALIZED and no ORDER BY inside: an exact scan, never the index.
    sql = (
        f"WITH c AS MATERIALIZED (SELECT se.scene_id, {_distance(scope)} AS distance "
        f"FROM {source} WHERE {where}) SELECT scene_id, distance FROM c {cut} "
        "ORDER BY distance, scene_id LIMIT %s"
    )
    cut_params = [] if max_distance is None else [max_distance]
    return sql, [qvec, *params, *cut_params, limit]


def _hnsw(scope, qvec, limit, max_distance, selectivity) -> tuple[list[SceneHit], int]:
    """An iterative HNSW walk (relaxed order, re-sorted outside); also how many rows the
    walk returned before any score cut."""
    source, where, params = _where(scope, None)
    ef = min(EF_SEARCH_MAX, max(EF_SEARCH_MIN, limit))
    budget = int(min(MAX_SCAN_TUPLES_MAX, max(20_000, 4.0 * limit / max(selectivity, 1e-9))))
    settings = {
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.ef_search": str(ef),
        "hnsw.max_scan_tuples": str(budget),
        "enable_sort": "off",
    }
    # The inner ORDER BY is the bare distance to the indexed expression: anything after
    # it would disable the index. "+ 0" keeps PostgreSQL from trusting the CTE's order.
    sql = (
        f"WITH c AS MATERIALIZED (SELECT se.scene_id, {_distance(scope)} AS distance "
        f"FROM {source} WHERE {where} ORDER BY distance LIMIT %s) "
        "SELECT scene_id, distance FROM c ORDER BY distance + 0, scene_id"
    )
    with local_settings(settings) as cur:
        cur.execute(sql, [qvec, *params, limit])
        rows = cur.fetchall()
    hits = [SceneHit(int(pk), 1.0 - float(d)) for pk, d in rows]
    if max_distance is not None:
        hits = [h for h in hits if 1.0 - h.score <= max_distance]
    return hits, len(rows)


def _filter_scene_pks(scope: VectorScope, limit: int) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id FROM catalog_scene s WHERE {scope.filter_sql} LIMIT %s",
            [*scope.filter_params, limit],
        )
        return [row[0] for row in cur.fetchall()]


def _run(sql: str, params: list) -> list[SceneHit]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [SceneHit(int(pk), 1.0 - float(d)) for pk, d in cur.fetchall()]
