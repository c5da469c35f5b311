"""Running a search: text, "more like this" (scene or frame) and attribute filters, alone
or combined; one result per scene, naming the moment that matched.

Scenes are ranked by their best frame's cosine similarity to the query vector
(`vector_sql.nearest_scenes`, whose plan - exact or HNSW - `plan.choose_plan` picks per
query so that filters lose no match). Text also matches scene tags (`text.py`); the two
rankings are fused with reciprocal rank fusion, and each result says how it matched. A
search with only filters lists matching scenes newest first.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import F, FloatField, Value
from django.db.models.functions import Abs

from catalog.errors import InvalidInput, NotFound
from catalog.filter_sql import scene_filter_sql
from catalog.filters import SceneFilters
from catalog.models import Scene
from catalog.selectors import scene_list
from catalog.sql import binary_rows
from embeddings.binary import halfvecs_to_array
from embeddings.encoder import EncoderUnavailable, get_encoder
from embeddings.models import EmbeddingModel, FrameEmbedding
from embeddings.search import patterns
from embeddings.search.moments import earliest_qualifying
from embeddings.search.plan import VectorScope
from embeddings.search.request import LikeFrame, SearchRequest
from embeddings.search.results import Found, filter_found, moment_found, results, vector_found
from embeddings.search.text import (
    encode_text_cached,
    matched_tags,
    tags_match_sql,
    tags_tsquery,
)
from embeddings.search.vector_sql import FrameHit, moments_of, nearest_scenes
from embeddings.search.within import (
    prime_distances,
    prime_filters,
    prime_matched_tags,
    primed_matched_tags,
)
from embeddings.selectors import configured_model
from embeddings.similarity import similar_scenes

RRF_K = 60  # the constant of Cormack et al.; damps the head of each ranking


@dataclass
class SearchResponse:
    results: list[dict]
    model: dict | None
    took_ms: float
    fusion: dict
    plan: dict
    patterns: list[dict] | None = None  # only when the request asked for them

    def as_dict(self) -> dict:
        out = {
            "results": self.results,
            "model": self.model,
            "took_ms": self.took_ms,
            "fusion": self.fusion,
            "plan": self.plan,
        }
        if self.patterns is not None:
            out["patterns"] = self.patterns
        return out


def _encoder():
    return get_encoder()


def _model_info(model: EmbeddingModel | None, encoder) -> dict:
    """The model that ranked (or would rank) the results; `untrained` for test-tiny and
    other random-weight models, so the UI can say results mean nothing."""
    if model is not None:
        dim = model.dim
    else:
        try:
            dim = encoder.dim
        except EncoderUnavailable:
            dim = None  # an unknown architecture: filters-only search still works
    name = model.name if model else encoder.model_name
    return {"name": name, "dim": dim, "untrained": bool(encoder.untrained)}


@dataclass
class Ranking:
    """What a search found, before it is read for display (see `results.results`)."""

    found: list[Found]
    model: EmbeddingModel | None
    encoder: object
    fusion: dict
    plan: dict


def run_search(
    request: SearchRequest,
    *,
    force_plan: str | None = None,
    scene_pks: Sequence[int] | None = None,
) -> SearchResponse:
    """Run a validated search. `force_plan` ("exact"/"hnsw") is for tests and benches.

    `scene_pks` (internal, for standing queries: not part of the request contract) looks
    at those scenes only: every vector ranking is exact over just their frames, so the
    search costs O(len(scene_pks)) however large the catalog."""
    started = time.perf_counter()
    ranking = rank_search(request, force_plan=force_plan, scene_pks=scene_pks)
    found_results = results(ranking.found, cameras=request.cameras)
    grouped = None
    if request.patterns:
        model = ranking.model
        vectors = patterns.result_vectors(found_results, model) if model else {}
        grouped = patterns.group(found_results, vectors, request.patterns)
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    info = _model_info(ranking.model, ranking.encoder)
    return SearchResponse(found_results, info, took_ms, ranking.fusion, ranking.plan, grouped)


_LOOK_UP = object()


def rank_search(
    request: SearchRequest,
    *,
    force_plan: str | None = None,
    scene_pks: Sequence[int] | None = None,
    model: EmbeddingModel | None = _LOOK_UP,  # type: ignore[assignment]
    examples: dict | None = None,
) -> Ranking:
    """The ranking step of `run_search` (same arguments): scenes, moments, scores and
    how each matched, without reading what results show. For callers ranking many
    requests in a row: `model`, the configured model's row as
    `embeddings.selectors.configured_model()` returns it (looked up when not given),
    and `examples`, `example_vectors()` of their `like_scene` examples (read per request
    when not given)."""
    encoder = _encoder()
    if model is _LOOK_UP:
        model = configured_model()
    within = None if scene_pks is None else tuple(scene_pks)
    if not request.has_vector_query and not request.at_moment:
        found = _filters_only(request, within)
        fusion, plan = {"method": "filters"}, {"arm": "filters"}
    elif not request.has_vector_query and model is not None:
        found, fusion = _moments_only(request, model, within), {"method": "filters"}
        plan = {"arm": "filters", "moments": "earliest qualifying"}
    elif model is None:
        if request.text:
            # Weights that cannot load are worth a 503 that says what to set, not an
            # empty answer that reads as "no vectors yet".
            encode_text_cached(encoder, request.text)
        found, fusion = [], {"method": "vector"}
        plan = {"arm": "none", "reason": f"no vectors for model {encoder.model_name} yet"}
    else:
        found, fusion, plan = _vector_search(request, model, encoder, force_plan, within, examples)
    return Ranking(found, model, encoder, fusion, plan)


def _vector_search(
    request, model, encoder, force_plan, within, examples=None
) -> tuple[list[Found], dict, dict]:
    query, exclude_pk, cache_hit = _query_vector(request, model, encoder, examples)
    scope = _scope(request, model, within, exclude_scene_pk=exclude_pk)
    tsquery, tag_scope = _tag_scope(request, scope)
    # An example scene ranks whole scenes; text or an example moment ranks moments.
    rank = _whole_scenes if request.like_scene else _best_moments
    vector_hits, plan = rank(scope, query, request.limit, request.min_score, force_plan)
    plan_info = {"vector": plan, "ranking": "scene" if request.like_scene else "moment"}
    if cache_hit is not None:
        plan_info["text_cache"] = "hit" if cache_hit else "miss"
    tag_hits: list[FrameHit] = []
    if tag_scope is not None:
        tag_hits, plan_info["tags"] = rank(
            tag_scope, query, request.limit, request.min_score, force_plan
        )
    hit_pks = sorted({h.scene_pk for h in vector_hits} | {h.scene_pk for h in tag_hits})
    tags_by_scene = primed_matched_tags(scope, hit_pks, tsquery) if tsquery else None
    if tags_by_scene is None:
        tags_by_scene = matched_tags(hit_pks, tsquery)
    if tag_hits:
        ranked, fusion = _fuse(vector_hits, tag_hits, tags_by_scene, request.limit)
    else:
        ranked = [(hit, i + 1, None) for i, hit in enumerate(vector_hits)]
        fusion = {"method": "vector"}
    return vector_found(ranked, tags_by_scene), fusion, plan_info


def _tag_scope(request: SearchRequest, scope: VectorScope) -> tuple[str, VectorScope | None]:
    """The query's words as a tsquery, and the scope of the tag ranking (None: the text
    has only stop words, or there is no text)."""
    tsquery = tags_tsquery(request.text) if request.text else ""
    return tsquery, scope.narrowed(tags_match_sql("s"), [tsquery]) if tsquery else None


def prime_within(requests, model: EmbeddingModel, scene_pks, examples=None) -> None:
    """Before ranking many requests within the same scenes (inside
    `within.batch_cache()`): evaluate all their scene filters in one query, their
    query vectors' distances in one matrix product and their words against the scenes'
    tags in one more (`within.prime_filters`, `prime_distances`, `prime_matched_tags`).
    A request whose vector cannot be made is left out here; ranking it says why."""
    pks = tuple(sorted(set(scene_pks)))
    encoder = _encoder()
    scopes, queries, tsqueries = [], [], []
    for request in requests:
        if not request.has_vector_query:
            continue
        scope = _scope(request, model, pks)
        tsquery, tag_scope = _tag_scope(request, scope)
        scopes += [scope, scope.scene_level(), *([tag_scope] if tag_scope else [])]
        tsqueries.append(tsquery)
        try:
            queries.append(_query_vector(request, model, encoder, examples)[0])
        except (InvalidInput, NotFound):
            continue
    prime_filters(scopes)
    prime_matched_tags(pks, tsqueries)
    if queries:
        prime_distances(VectorScope.of_model(model).restricted_to(pks), queries)


def _best_moments(scope, query, limit, min_score, force) -> tuple[list[FrameHit], dict]:
    """Scenes by their best frame: each hit is that frame, scored by its cosine."""
    hits, plan = nearest_scenes(scope, query, limit, min_score=min_score, force=force)
    return hits, plan.describe()


def _whole_scenes(scope, query, limit, min_score, force) -> tuple[list[FrameHit], dict]:
    """Scenes by whole-scene similarity (`embeddings.similarity`): each hit is scored by
    its scene vector's cosine and names the scene's frame nearest the query."""
    scenes, plan = similar_scenes(scope, query, limit, min_score=min_score, force=force)
    moments = {h.scene_pk: h for h in moments_of(scope, query, [s.scene_pk for s in scenes])}
    hits = [
        FrameHit(m.frame_id, m.scene_pk, m.camera, 1.0 - scene.score)
        for scene in scenes
        if (m := moments.get(scene.scene_pk)) is not None
    ]
    return hits, plan


def _fuse(vector_hits, tag_hits, tags_by_scene, limit) -> tuple[list, dict]:
    """Reciprocal rank fusion of the vector ranking and the tag ranking (scenes matching
    more query words first, then by similarity). Rank-based, so CLIP's narrow band of
    text-image cosines needs no calibration against tag counts."""
    tag_order = sorted(
        tag_hits, key=lambda h: (-len(tags_by_scene.get(h.scene_pk, ())), h.distance)
    )
    vector_rank = {h.scene_pk: i + 1 for i, h in enumerate(vector_hits)}
    tag_rank = {h.scene_pk: i + 1 for i, h in enumerate(tag_order)}
    best: dict[int, FrameHit] = {}
    for hit in [*vector_hits, *tag_hits]:
        if hit.scene_pk not in best or hit.distance < best[hit.scene_pk].distance:
            best[hit.scene_pk] = hit

    def fused(pk: int) -> float:
        return sum(1.0 / (RRF_K + ranks[pk]) for ranks in (vector_rank, tag_rank) if pk in ranks)

    order = sorted(best, key=lambda pk: (-fused(pk), best[pk].distance, pk))[:limit]
    ranked = [(best[pk], vector_rank.get(pk), round(fused(pk), 6)) for pk in order]
    return ranked, {"method": "rrf", "k": RRF_K, "rankings": ["vector", "tags"]}


def _scope(
    request: SearchRequest,
    model: EmbeddingModel,
    within: tuple[int, ...] | None,
    *,
    exclude_scene_pk: int | None = None,
) -> VectorScope:
    """The vectors a request ranks: its filters, cameras and moment conditions, only the
    `within` scenes when given."""
    filter_sql, filter_params = _filter_sql(request.filters)
    scope = VectorScope.of_model(
        model,
        filter_sql=filter_sql,
        filter_params=tuple(filter_params),
        cameras=request.cameras or (),
        exclude_scene_pk=exclude_scene_pk,
    ).with_moments(request.at_moment)
    return scope if within is None else scope.restricted_to(within)


def _filter_sql(filters: SceneFilters) -> tuple[str, list]:
    if filters.is_empty():
        return "TRUE", []
    return scene_filter_sql(filters, "s")


def _query_vector(
    request, model, encoder, examples=None
) -> tuple[np.ndarray, int | None, bool | None]:
    """(unit query vector, scene pk to exclude, text cache hit or None)."""
    parts: list[np.ndarray] = []
    exclude_pk = None
    cache_hit = None
    if request.text:
        vector, cache_hit = encode_text_cached(encoder, request.text)
        parts.append(vector)
    if request.like_scene:
        exclude_pk, vector = _scene_vector(request.like_scene, model, examples)
        parts.append(vector)
    if request.like_frame:
        exclude_pk, vector = _frame_vector(request.like_frame, model)
        parts.append(vector)
    # Text and an example together: the direction between both (each unit length).
    query = np.sum([p / max(np.linalg.norm(p), 1e-12) for p in parts], axis=0)
    return query / max(np.linalg.norm(query), 1e-12), exclude_pk, cache_hit


def _scene_pk(scene_id: str) -> int:
    pk = Scene.objects.filter(scene_id=scene_id).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(f"scene {scene_id!r} does not exist")
    return pk


def example_vectors(scene_ids, model: EmbeddingModel) -> dict[str, tuple[int, np.ndarray | None]]:
    """Scene id -> (pk, stored scene vector or None) for those of `scene_ids` that exist,
    in one round trip (the vectors in binary: parsing 512 numbers from text costs more
    than the query)."""
    rows = binary_rows(
        "SELECT s.scene_id, s.id, halfvec_send(se.embedding) FROM catalog_scene s "
        "LEFT JOIN embeddings_sceneembedding se ON se.scene_id = s.id AND se.model_id = %s "
        "WHERE s.scene_id = ANY(%s::text[])",
        [model.id, sorted(set(scene_ids))],
    )
    dim = int(model.dim)
    return {
        scene_id: (pk, None if stored is None else halfvecs_to_array([stored], dim)[0])
        for scene_id, pk, stored in rows
    }


def _scene_vector(
    scene_id: str, model: EmbeddingModel, examples: dict | None = None
) -> tuple[int, np.ndarray]:
    if examples is None or scene_id not in examples:
        examples = example_vectors([scene_id], model)
    if scene_id not in examples:
        raise NotFound(f"scene {scene_id!r} does not exist")
    pk, stored = examples[scene_id]
    if stored is not None:
        return pk, stored
    # Scene vector not written yet: the mean of its frame vectors is the same thing.
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT avg(embedding::halfvec({int(model.dim)})::vector({int(model.dim)}))::text "
            "FROM embeddings_frameembedding WHERE model_id = %s AND scene_id = %s",
            [model.id, pk],
        )
        row = cur.fetchone()
    if not row or row[0] is None:
        raise InvalidInput({"like_scene": f"scene {scene_id!r} has no vectors for {model.name}"})
    return pk, np.asarray([float(x) for x in row[0].strip("[]").split(",")], dtype=np.float32)


def _as_array(stored) -> np.ndarray:
    # pgvector's Django field gives lists; its psycopg adapter, if registered, HalfVector.
    values = stored.to_list() if hasattr(stored, "to_list") else stored
    return np.asarray(values, dtype=np.float32)


def _frame_vector(like: LikeFrame, model: EmbeddingModel) -> tuple[int, np.ndarray]:
    pk = _scene_pk(like.scene_id)
    # The sampled frame nearest to t_s: URLs carry rounded times (?t=12.5).
    stored = (
        FrameEmbedding.objects.filter(scene_id=pk, camera=like.camera, model=model)
        .annotate(dt=Abs(F("frame__t_s") - Value(like.t_s, output_field=FloatField())))
        .order_by("dt", "frame__t_s")
        .values_list("embedding", flat=True)
        .first()
    )
    if stored is None:
        raise InvalidInput(
            {"like_frame": f"scene {like.scene_id!r} has no {like.camera!r} frame with a vector"}
        )
    return pk, _as_array(stored)


def _filters_only(request: SearchRequest, within: tuple[int, ...] | None) -> list[Found]:
    scenes = scene_list(filters=request.filters)
    if within is not None:
        scenes = scenes.filter(pk__in=within)
    if request.cameras:
        scenes = scenes.filter(cameras__has_any_keys=list(request.cameras))
    return filter_found(list(scenes.values_list("id", flat=True)[: request.limit]))


def _moments_only(
    request: SearchRequest, model: EmbeddingModel, within: tuple[int, ...] | None
) -> list[Found]:
    """Moment conditions without text or an example: the earliest qualifying moment of
    each scene, newest scenes first."""
    return moment_found(earliest_qualifying(_scope(request, model, within), request.limit))
