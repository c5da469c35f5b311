"""Mining disengagements: every disengagement as a positive moment, and hard negatives -
moments that look like it from scenes where the driver did not take over.

- Positives: each disengagement (of the given `kinds`, if any) of every scene passing the
  filters, newest scene first, shown at the scene's sampled frame nearest the
  disengagement (`embeddings.selectors.frames_at`: nearest in time, front camera first).
- Negatives: for each positive, the scenes without any disengagement, passing the same
  filters, whose best moment on the positive frame's camera is nearest that frame (the
  search's filtered nearest-moment query, exact or HNSW as planned). Positives take
  turns - every positive's best unused scene, then every positive's second - so no
  scene appears twice and an early positive cannot take every look-alike. A positive
  with no sampled frame yet has no negatives.
- `into_set`: the positives' scenes labelled `positive`, the negatives' `negative`
  (`curation.adding.insert_items`).
"""

from dataclasses import dataclass, replace

from django.db import connection, transaction

from catalog.errors import InvalidInput
from catalog.filter_sql import scene_filter_sql
from catalog.filters import parse_json_filters
from catalog.limits import DISENGAGEMENT_KIND_MAX, FILTER_VALUES_MAX
from catalog.models import Scene
from curation.adding import insert_items
from curation.limits import MAX_MINED_POSITIVES, MAX_NEGATIVES_PER_POSITIVE
from curation.services import _writable_set
from embeddings.search.plan import VectorScope
from embeddings.search.vector_sql import nearest_scenes
from embeddings.selectors import configured_model, frame_views, frames_at

DEFAULT_NEGATIVES = 2
# Candidates fetched per positive on the first pass: enough that turns rarely run dry.
FETCH_FACTOR = 3
FETCH_MARGIN = 8


@dataclass
class _Positive:
    scene_pk: int
    scene_id: str
    t_s: float
    kind: str
    frame: dict | None = None


def mine_disengagements(
    *,
    actor,
    filters: dict | None = None,
    kinds: list[str] | None = None,
    negatives_per_positive: int = DEFAULT_NEGATIVES,
    into_set: int | None = None,
) -> dict:
    """`{"positives": [...], "negatives": [...]}` (see the module docstring)."""
    parsed = parse_json_filters(filters)
    kinds = _clean_kinds(kinds)
    n_neg = negatives_per_positive
    if isinstance(n_neg, bool) or not isinstance(n_neg, int):
        raise InvalidInput({"negatives_per_positive": "a whole number is required"})
    if not 0 <= n_neg <= MAX_NEGATIVES_PER_POSITIVE:
        raise InvalidInput(
            {"negatives_per_positive": f"must be between 0 and {MAX_NEGATIVES_PER_POSITIVE}"}
        )
    if into_set is not None and (isinstance(into_set, bool) or not isinstance(into_set, int)):
        raise InvalidInput({"into_set": "a set id (integer) or null"})
    filter_sql, params = ("TRUE", []) if parsed.is_empty() else scene_filter_sql(parsed, "s")
    with transaction.atomic():
        scene_set = None if into_set is None else _writable_set(into_set, actor)
        positives = _positives(filter_sql, params, kinds)
        model = configured_model()
        negatives = []
        if model is not None:
            moments = [(p.scene_pk, p.t_s) for p in positives]
            for positive, frame in zip(
                positives, frames_at(moments=moments, model=model), strict=True
            ):
                positive.frame = frame
            if n_neg:
                negatives = _negatives(positives, model, filter_sql, params, n_neg)
        if scene_set is not None:
            _into_set(scene_set, actor, positives, negatives, filters)
    return {
        "positives": _positive_views(positives),
        "negatives": _negative_views(negatives),
    }


def _clean_kinds(kinds) -> list[str] | None:
    if kinds is None:
        return None
    if not isinstance(kinds, list) or not 1 <= len(kinds) <= FILTER_VALUES_MAX:
        raise InvalidInput({"kinds": f"a list of 1..{FILTER_VALUES_MAX} kinds, or null"})
    if any(
        not isinstance(k, str) or not k.strip() or len(k) > DISENGAGEMENT_KIND_MAX for k in kinds
    ):
        raise InvalidInput(
            {"kinds": f"kinds are strings of 1..{DISENGAGEMENT_KIND_MAX} characters"}
        )
    return list(dict.fromkeys(k.strip() for k in kinds))


def _positives(filter_sql: str, params: list, kinds: list[str] | None) -> list[_Positive]:
    kind_sql = "" if kinds is None else "AND d.kind = ANY(%s)"
    with connection.cursor() as cur:
        cur.execute(
            "SELECT s.id, s.scene_id, d.t_s, d.kind FROM catalog_disengagement d "
            f"JOIN catalog_scene s ON s.id = d.scene_id WHERE ({filter_sql}) {kind_sql} "
            "ORDER BY s.start_time DESC, s.id DESC, d.t_s, d.id LIMIT %s",
            [*params, *([kinds] if kinds is not None else []), MAX_MINED_POSITIVES + 1],
        )
        rows = cur.fetchall()
    if len(rows) > MAX_MINED_POSITIVES:
        raise InvalidInput(
            {
                "filters": f"more than {MAX_MINED_POSITIVES} disengagements match; narrow the "
                "filters (e.g. start_after / start_before) and mine in several requests"
            }
        )
    return [_Positive(*row) for row in rows]


def _negatives(positives, model, filter_sql, params, per_positive: int) -> list[tuple]:
    """(positive index, scene pk, frame id, score) of each negative, in turns."""
    no_disengagement = f"({filter_sql}) AND s.disengagement_count = 0"
    base = VectorScope.of_model(model, filter_sql=no_disengagement, filter_params=tuple(params))
    fetch = per_positive * FETCH_FACTOR + FETCH_MARGIN
    candidates: dict[int, list] = {}
    for i, positive in enumerate(positives):
        if positive.frame is not None:
            candidates[i] = _nearest(base, positive.frame, fetch, exclude=[])
    used: set[int] = set()
    taken: dict[int, list] = {i: [] for i in candidates}
    for _ in range(per_positive):
        for i, hits in candidates.items():
            _take(hits, used, taken[i])
    # A positive whose look-alikes were all taken by others asks again, past them (a
    # short first answer means there are no more).
    for i, hits in candidates.items():
        need = per_positive - len(taken[i])
        if need > 0 and len(hits) >= fetch:
            for hit in _nearest(base, positives[i].frame, need, exclude=sorted(used)):
                _take([hit], used, taken[i])
    return [(i, hit.scene_pk, hit.frame_id, hit.score) for i in taken for hit in taken[i]]


def _take(hits: list, used: set[int], taken: list) -> bool:
    for hit in hits:
        if hit.scene_pk not in used:
            used.add(hit.scene_pk)
            taken.append(hit)
            return True
    return False


def _nearest(base: VectorScope, frame: dict, limit: int, *, exclude: list[int]) -> list:
    scope = replace(base, cameras=(frame["camera"],))
    if exclude:
        scope = scope.narrowed("s.id <> ALL(%s)", [exclude])
    hits, _ = nearest_scenes(scope, frame["vector"], limit)
    return hits


def _into_set(scene_set, actor, positives, negatives, filters) -> None:
    pks = list(dict.fromkeys(p.scene_pk for p in positives))
    labels = ["positive"] * len(pks)
    for _, scene_pk, _, _ in negatives:
        pks.append(scene_pk)
        labels.append("negative")
    query = {"mining": "disengagements", "filters": filters or {}}
    insert_items(scene_set, actor, pks, label=labels, query=query)


def _positive_views(positives: list[_Positive]) -> list[dict]:
    views = frame_views(frame_ids=[p.frame["frame_id"] for p in positives if p.frame])
    return [
        {
            "scene_id": p.scene_id,
            "t_s": p.t_s,
            "kind": p.kind,
            "frame": views.get(p.frame["frame_id"]) if p.frame else None,
        }
        for p in positives
    ]


def _negative_views(negatives: list[tuple]) -> list[dict]:
    frames = frame_views(frame_ids=[n[2] for n in negatives])
    names = dict(
        Scene.objects.filter(pk__in=[n[1] for n in negatives]).values_list("pk", "scene_id")
    )
    return [
        {
            "scene_id": names[scene_pk],
            "t_s": frames[frame_id]["t_s"],
            "score": round(score, 6),
            "positive": index,
            "frame": frames[frame_id],
        }
        for index, scene_pk, frame_id, score in negatives
    ]
