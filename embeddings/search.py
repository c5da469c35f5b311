"""Scene search (DESIGN §6): text, "more like this" (scene or frame) and attribute filters,
alone or combined; one result per scene, naming the moment that matched.

- `SearchRequest.from_json` validates a request body (InvalidInput names the field,
  NotFound for an unknown like_scene / like_frame scene).
- `run_search` ranks scenes by their best frame's cosine similarity to the query vector
  (embeddings/search_vector.py picks an exact or HNSW plan per query so that filters
  lose no match). Text also matches scene tags (embeddings/search_text.py); the two
  rankings are fused with reciprocal rank fusion, and each result says how it matched.
  A search with only filters lists matching scenes newest first.
"""

import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
from django.db import connection
from django.db.models import F, FloatField, Value
from django.db.models.functions import Abs

from catalog.errors import InvalidInput, NotFound
from catalog.filters import SceneFilters, parse_json_filters
from catalog.media import media_url
from catalog.models import Scene
from catalog.selectors import scene_filter_sql, scene_list
from embeddings.encoder import EncoderUnavailable, get_encoder
from embeddings.models import EmbeddingModel, Frame, FrameEmbedding, SceneEmbedding
from embeddings.search_plan import VectorScope
from embeddings.search_text import encode_text_cached, matched_tags, tags_match_sql, tags_tsquery
from embeddings.search_vector import FrameHit, nearest_scenes

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_TEXT_CHARS = 1000
MAX_CAMERAS = 32
RRF_K = 60  # the constant of Cormack et al.; damps the head of each ranking
FIELDS = ("text", "like_scene", "like_frame", "filters", "cameras", "limit", "min_score")


@dataclass(frozen=True)
class LikeFrame:
    scene_id: str
    camera: str
    t_s: float


@dataclass(frozen=True)
class SearchRequest:
    text: str | None = None
    like_scene: str | None = None
    like_frame: LikeFrame | None = None
    filters: SceneFilters = field(default_factory=SceneFilters)
    cameras: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    min_score: float | None = None

    @property
    def has_vector_query(self) -> bool:
        return bool(self.text or self.like_scene or self.like_frame)

    @classmethod
    def from_json(cls, body: Any) -> "SearchRequest":
        if not isinstance(body, dict):
            raise InvalidInput({"non_field_errors": "expected a JSON object"})
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise InvalidInput({name: "unknown field" for name in unknown})
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name, parse in (
            ("text", _text),
            ("like_scene", _scene_id),
            ("like_frame", _like_frame),
            ("filters", lambda _n, raw: parse_json_filters(raw)),
            ("cameras", _cameras),
            ("limit", _limit),
            ("min_score", _min_score),
        ):
            try:
                values[name] = parse(name, body.get(name))
            except InvalidInput as exc:
                errors.update(exc.errors)
        if errors:
            raise InvalidInput(errors)
        if values["like_scene"] and values["like_frame"]:
            raise InvalidInput({"like_frame": "give like_scene or like_frame, not both"})
        request = cls(**{k: v for k, v in values.items() if v is not None})
        if not (request.has_vector_query or not request.filters.is_empty() or request.cameras):
            raise InvalidInput(
                {"text": "give text, like_scene, like_frame or filters (none was given)"}
            )
        _check_references(request)
        return request


def _text(name: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput({name: "expected a string"})
    if len(raw) > MAX_TEXT_CHARS:
        raise InvalidInput({name: f"at most {MAX_TEXT_CHARS} characters"})
    return raw.strip() or None


def _scene_id(name: str, raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 200:
        raise InvalidInput({name: "expected a scene id"})
    return raw.strip()


def _like_frame(name: str, raw: Any) -> LikeFrame | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"scene_id", "camera", "t_s"}:
        raise InvalidInput({name: 'expected {"scene_id": str, "camera": str, "t_s": number}'})
    scene_id = _scene_id(f"{name}.scene_id", raw["scene_id"])
    if not scene_id:
        raise InvalidInput({f"{name}.scene_id": "expected a scene id"})
    camera = raw["camera"]
    if not isinstance(camera, str) or not camera.strip() or len(camera) > 64:
        raise InvalidInput({f"{name}.camera": "expected a camera name"})
    t_s = raw["t_s"]
    if isinstance(t_s, bool) or not isinstance(t_s, int | float) or not 0 <= t_s < math.inf:
        raise InvalidInput({f"{name}.t_s": "expected a number of seconds >= 0"})
    return LikeFrame(scene_id, camera.strip(), float(t_s))


def _cameras(name: str, raw: Any) -> tuple[str, ...] | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_CAMERAS:
        raise InvalidInput({name: f"expected a list of at most {MAX_CAMERAS} camera names"})
    if any(not isinstance(c, str) or not c.strip() or len(c) > 64 for c in raw):
        raise InvalidInput({name: "expected camera names (non-empty strings)"})
    return tuple(dict.fromkeys(c.strip() for c in raw))


def _limit(name: str, raw: Any) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
        raise InvalidInput({name: f"expected a whole number 1..{MAX_LIMIT}"})
    if not 1 <= raw <= MAX_LIMIT:
        raise InvalidInput({name: f"must be between 1 and {MAX_LIMIT}, got {raw}"})
    return int(raw)


def _min_score(name: str, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not -1 <= raw <= 1:
        raise InvalidInput({name: "expected a cosine similarity between -1 and 1"})
    return float(raw)


_known_cameras: set[str] = set()


def _check_references(request: SearchRequest) -> None:
    for scene_id in filter(
        None, [request.like_scene, getattr(request.like_frame, "scene_id", None)]
    ):
        if not Scene.objects.filter(scene_id=scene_id).exists():
            raise NotFound(f"scene {scene_id!r} does not exist")
    # Camera names are whatever the fleet records; a name no scene has is a typo. Known
    # names are remembered per process: the check costs a query only for new names.
    for camera in request.cameras or ():
        if camera not in _known_cameras:
            if not Scene.objects.filter(cameras__has_key=camera).exists():
                raise InvalidInput({"cameras": f"unknown camera {camera!r}"})
            _known_cameras.add(camera)


# --- response ----------------------------------------------------------------------------


@dataclass
class SearchResponse:
    results: list[dict]
    model: dict | None
    took_ms: float
    fusion: dict
    plan: dict

    def as_dict(self) -> dict:
        return {
            "results": self.results,
            "model": self.model,
            "took_ms": self.took_ms,
            "fusion": self.fusion,
            "plan": self.plan,
        }


def scene_url(scene_id: str, camera: str | None = None, t_s: float | None = None) -> str:
    url = f"/scenes/{quote(scene_id, safe='')}"
    if camera is not None and t_s is not None:
        url += f"?t={_seconds(t_s)}&camera={quote(camera, safe='')}"
    return url


def _seconds(t_s: float) -> str:
    return f"{t_s:.3f}".rstrip("0").rstrip(".")


# --- running -----------------------------------------------------------------------------


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


def run_search(request: SearchRequest, *, force_plan: str | None = None) -> SearchResponse:
    """Run a validated search. `force_plan` ("exact"/"hnsw") is for tests and benches."""
    started = time.perf_counter()
    encoder = _encoder()
    model = EmbeddingModel.objects.filter(name=encoder.model_name).first()
    if not request.has_vector_query:
        results, fusion, plan = _filters_only(request), {"method": "filters"}, {"arm": "filters"}
    elif model is None:
        results, fusion = [], {"method": "vector"}
        plan = {"arm": "none", "reason": f"no vectors for model {encoder.model_name} yet"}
    else:
        results, fusion, plan = _vector_search(request, model, encoder, force_plan)
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return SearchResponse(results, _model_info(model, encoder), took_ms, fusion, plan)


def _vector_search(request, model, encoder, force_plan) -> tuple[list[dict], dict, dict]:
    query, exclude_pk, cache_hit = _query_vector(request, model, encoder)
    filter_sql, filter_params = _filter_sql(request.filters)
    scope = VectorScope(
        model.id, model.dim, filter_sql, tuple(filter_params), request.cameras or (), exclude_pk
    )
    vector_hits, plan = nearest_scenes(
        scope, query, request.limit, min_score=request.min_score, force=force_plan
    )
    plan_info = {"vector": plan.describe()}
    if cache_hit is not None:
        plan_info["text_cache"] = "hit" if cache_hit else "miss"
    tsquery = tags_tsquery(request.text) if request.text else ""
    tag_hits: list[FrameHit] = []
    if tsquery:
        tag_scope = scope.narrowed(tags_match_sql("s"), [tsquery])
        tag_hits, tag_plan = nearest_scenes(
            tag_scope, query, request.limit, min_score=request.min_score, force=force_plan
        )
        plan_info["tags"] = tag_plan.describe()
    tags_by_scene = matched_tags(
        sorted({h.scene_pk for h in vector_hits} | {h.scene_pk for h in tag_hits}), tsquery
    )
    if tag_hits:
        ranked, fusion = _fuse(vector_hits, tag_hits, tags_by_scene, request.limit)
    else:
        ranked = [(hit, i + 1, None) for i, hit in enumerate(vector_hits)]
        fusion = {"method": "vector"}
    return _results(ranked, tags_by_scene), fusion, plan_info


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


def _filter_sql(filters: SceneFilters) -> tuple[str, list]:
    if filters.is_empty():
        return "TRUE", []
    return scene_filter_sql(filters, "s")


def _query_vector(request, model, encoder) -> tuple[np.ndarray, int | None, bool | None]:
    """(unit query vector, scene pk to exclude, text cache hit or None)."""
    parts: list[np.ndarray] = []
    exclude_pk = None
    cache_hit = None
    if request.text:
        vector, cache_hit = encode_text_cached(encoder, request.text)
        parts.append(vector)
    if request.like_scene:
        exclude_pk, vector = _scene_vector(request.like_scene, model)
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


def _scene_vector(scene_id: str, model: EmbeddingModel) -> tuple[int, np.ndarray]:
    pk = _scene_pk(scene_id)
    stored = (
        SceneEmbedding.objects.filter(scene_id=pk, model=model)
        .values_list("embedding", flat=True)
        .first()
    )
    if stored is not None:
        return pk, _as_array(stored)
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


def _results(ranked: list[tuple[FrameHit, int | None, float | None]], tags_by_scene) -> list[dict]:
    frames = {
        f["id"]: f
        for f in Frame.objects.filter(id__in=[h.frame_id for h, _, _ in ranked]).values(
            "id", "camera", "t_s", "thumbnail_uri", "scene__scene_id"
        )
    }
    results = []
    for hit, vector_rank, fused in ranked:
        frame = frames.get(hit.frame_id)
        if frame is None:
            continue  # deleted between the ranking and now
        scene_id = frame["scene__scene_id"]
        match: dict[str, Any] = {
            "vector": {"rank": vector_rank, "score": round(hit.score, 6)},
            "tags": tags_by_scene.get(hit.scene_pk, []),
        }
        if fused is not None:
            match["fused"] = fused
        results.append(
            {
                "scene_id": scene_id,
                "score": round(hit.score, 6),
                "frame": _frame_json(frame),
                "url": scene_url(scene_id, frame["camera"], frame["t_s"]),
                "match": match,
            }
        )
    return results


def _frame_json(frame: dict) -> dict:
    uri = frame["thumbnail_uri"]
    return {
        "camera": frame["camera"],
        "t_s": frame["t_s"],
        "thumbnail_url": media_url(uri) if uri else None,
    }


def _filters_only(request: SearchRequest) -> list[dict]:
    scenes = scene_list(filters=request.filters)
    if request.cameras:
        scenes = scenes.filter(cameras__has_any_keys=list(request.cameras))
    rows = list(scenes.values_list("id", "scene_id")[: request.limit])
    # The scene's first sampled moment stands for it (preferring the asked cameras).
    frames = Frame.objects.filter(scene_id__in=[pk for pk, _ in rows])
    if request.cameras:
        frames = frames.filter(camera__in=request.cameras)
    first = {
        f["scene_id"]: f
        for f in frames.order_by("scene_id", "t_s", "camera")
        .distinct("scene_id")
        .values("scene_id", "camera", "t_s", "thumbnail_uri")
    }
    results = []
    for pk, scene_id in rows:
        frame = first.get(pk)
        results.append(
            {
                "scene_id": scene_id,
                "score": None,
                "frame": _frame_json(frame) if frame else None,
                "url": scene_url(scene_id, *((frame["camera"], frame["t_s"]) if frame else ())),
                "match": {"filters": True},
            }
        )
    return results
