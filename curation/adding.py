"""Adding scenes to a set, with the options curation needs beyond ids and searches:

- `filters`: every scene matching them, server-side, in one INSERT ... SELECT over
  `catalog.selectors.scene_filter_sql` (10^5 scenes in seconds; more than
  CATALOG_MAX_UNCONFIRMED_SCENES needs `confirm`);
- `sample` (with `search` or `filters`): n of the found scenes, diverse or random
  (`curation.sampling`); a sampled search may ask for up to 10,000 results;
- `dedup`: skip near-duplicates of the set's items and of scenes added earlier in the
  same request (`curation.dedup`), reported in `skipped_duplicates`;
- `label`: the label of the new items (and of items already there without one).

Scenes already in the set are counted in `already_present` and left as they are (bar
an empty label); a sample is drawn from the scenes not in the set yet.
"""

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from catalog.errors import InvalidInput, NotFound
from catalog.filter_sql import scene_filter_sql
from catalog.filters import parse_json_filters
from catalog.models import Scene
from catalog.sql import id_array_literal
from curation.dedup import dedup as drop_duplicates
from curation.limits import (
    MAX_GROUP_SCENES,
    MAX_REPORTED_SKIPS,
    MAX_SAMPLE_SEARCH_RESULTS,
    check_group_size,
    clean_min_score,
    require_confirmation,
)
from curation.models import SceneSet
from curation.sampling import SampleSpec, sample_scenes
from curation.services import _clean_scene_ids, _writable_set, clean_label
from embeddings import search as embeddings_search
from embeddings.selectors import configured_model
from embeddings.similarity import NEAR_DUPLICATE_MIN_SCORE


@dataclass(frozen=True)
class AddReport:
    requested: int  # scenes the request named or found (a sample: its n)
    added: int
    already_present: int
    count: int  # items in the set afterwards
    skipped_duplicates: list[dict]  # [{"scene_id", "duplicate_of"}], at most MAX_REPORTED_SKIPS
    skipped_duplicates_count: int
    sample: dict | None = None

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        if self.sample is None:
            del out["sample"]
        return out


@dataclass(frozen=True)
class _Found:
    pks: list[int]  # in the order found
    query: dict | None  # recorded with the items: how they were chosen
    model: str


@transaction.atomic
def scene_set_add_items(
    *,
    scene_set_id: int,
    actor,
    scene_ids: list[str] | None = None,
    search: dict | None = None,
    filters: dict | None = None,
    sample: dict | None = None,
    dedup: bool = False,
    dedup_min_score: float = NEAR_DUPLICATE_MIN_SCORE,
    label: str = "",
    confirm: bool = False,
) -> AddReport:
    """Add scenes named by exactly one of `scene_ids`, `search` or `filters` (see the
    module docstring); nothing is added when anything is wrong."""
    scene_set = _writable_set(scene_set_id, actor)
    sources = [name for name, v in (("scene_ids", scene_ids), ("search", search),
                                    ("filters", filters)) if v is not None]  # fmt: skip
    if len(sources) != 1:
        raise InvalidInput({"scene_ids": "send exactly one of scene_ids, search or filters"})
    label = clean_label(label)
    min_score = clean_min_score("dedup_min_score", dedup_min_score)
    spec = None if sample is None else SampleSpec.from_json(sample)
    if spec is not None and scene_ids is not None:
        raise InvalidInput({"sample": "sample a search or filters, not a list of scene ids"})
    if filters is not None and spec is None and not dedup:
        return _add_all_matching(scene_set, actor, filters, label, confirm)
    if scene_ids is not None:
        found = _named(scene_ids)
    elif search is not None:
        found = _searched(search, sampled=spec is not None)
    else:
        found = _filtered(filters)
    return _add(scene_set, actor, found, spec, dedup=dedup, min_score=min_score, label=label)


def _add(scene_set, actor, found: _Found, spec, *, dedup: bool, min_score: float, label: str):
    present = _present(scene_set, found.pks)
    fresh = [pk for pk in found.pks if pk not in present]
    existing = _items(scene_set) if dedup else []
    model = configured_model()
    if dedup:
        check_group_size("dedup", len(fresh) + len(existing))
    info = None
    take = None
    if spec is not None:
        check_group_size("sample", len(fresh))
        drawn = sample_scenes(fresh, spec, model=model, min_score=min_score)
        fresh, info, take = drawn.ordered, drawn.info, spec.n
    if dedup:
        result = drop_duplicates(
            fresh, existing=existing, model=model, min_score=min_score, take=take
        )
        kept, skipped = result.kept, result.skipped
    else:
        kept, skipped = fresh[:take], []
    added = insert_items(scene_set, actor, kept, label=label, query=found.query, model=found.model)
    if label and spec is None and present:
        scene_set.items.filter(scene_id__in=present, label="").update(label=label)
    if info is not None:
        info["picked"] = len(kept)
    return AddReport(
        requested=spec.n if spec else len(found.pks),
        added=added,
        already_present=len(present),
        count=scene_set.items.count(),
        skipped_duplicates=_named_skips(skipped[:MAX_REPORTED_SKIPS]),
        skipped_duplicates_count=len(skipped),
        sample=info,
    )


# --- finding the scenes ----------------------------------------------------------------------


def _named(scene_ids: Any) -> _Found:
    wanted = _clean_scene_ids(scene_ids)
    pk_of = dict(Scene.objects.filter(scene_id__in=wanted).values_list("scene_id", "pk"))
    unknown = [scene_id for scene_id in wanted if scene_id not in pk_of]
    if unknown:
        shown = ", ".join(unknown[:50]) + (
            f" and {len(unknown) - 50} more" if len(unknown) > 50 else ""
        )
        raise InvalidInput({"scene_ids": f"{len(unknown)} unknown scene ids: {shown}"})
    return _Found([pk_of[scene_id] for scene_id in wanted], None, "")


def _searched(search: Any, *, sampled: bool) -> _Found:
    """The search's results, in rank order. Sampled, it may ask for up to
    MAX_SAMPLE_SEARCH_RESULTS; otherwise for what `POST search/` allows."""
    if not isinstance(search, dict):
        raise InvalidInput({"search": "a search body (JSON object) is required"})
    body, limit = dict(search), None
    if sampled and "limit" in body:
        limit = body.pop("limit")
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidInput({"search.limit": "a whole number is required"})
        if not 1 <= limit <= MAX_SAMPLE_SEARCH_RESULTS:
            raise InvalidInput(
                {"search.limit": f"must be between 1 and {MAX_SAMPLE_SEARCH_RESULTS} to sample"}
            )
    try:
        request = embeddings_search.SearchRequest.from_json(body)
        if limit is not None:
            request = dataclasses.replace(request, limit=limit)
        response = embeddings_search.run_search(request)
    except InvalidInput as exc:
        raise InvalidInput({f"search.{k}": v for k, v in exc.errors.items()}) from exc
    except NotFound as exc:
        raise InvalidInput({"search": str(exc)}) from exc
    scene_ids = list(dict.fromkeys(r["scene_id"] for r in response.results))
    pk_of = dict(Scene.objects.filter(scene_id__in=scene_ids).values_list("scene_id", "pk"))
    model = (response.model or {}).get("name") or "" if request.has_vector_query else ""
    return _Found([pk_of[s] for s in scene_ids if s in pk_of], search, model)


def _filter_sql(filters: Any) -> tuple[str, list]:
    parsed = parse_json_filters(filters)
    return ("TRUE", []) if parsed.is_empty() else scene_filter_sql(parsed, "s")


def _filtered(filters: Any) -> _Found:
    """Every scene matching the filters, newest first, when they are few enough to
    compare (a sample or dedup loads their vectors)."""
    sql, params = _filter_sql(filters)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.id FROM catalog_scene s WHERE {sql} "
            "ORDER BY s.start_time DESC, s.id DESC LIMIT %s",
            [*params, MAX_GROUP_SCENES + 1],
        )
        pks = [row[0] for row in cur.fetchall()]
    check_group_size("filters", len(pks))
    return _Found(pks, {"filters": filters}, "")


_COUNT_MATCHING = "SELECT count(*) FROM catalog_scene s WHERE {where}"
_INSERT_MATCHING = """
    WITH added AS (
        INSERT INTO curation_scenesetitem
            (scene_set_id, scene_id, added_by_id, added_at, query, query_model, note, label)
        SELECT %s, s.id, %s, now(), %s::jsonb, '', '', %s
        FROM catalog_scene s WHERE {where}
        ORDER BY s.start_time DESC, s.id DESC
        ON CONFLICT (scene_set_id, scene_id) DO UPDATE SET label = EXCLUDED.label
            WHERE curation_scenesetitem.label = '' AND EXCLUDED.label <> ''
        RETURNING xmax = 0 AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted) FROM added
"""


def _add_all_matching(scene_set: SceneSet, actor, filters, label: str, confirm: bool):
    """One INSERT ... SELECT: the matching scenes never leave the database."""
    sql, params = _filter_sql(filters)
    with connection.cursor() as cur:
        cur.execute(_COUNT_MATCHING.format(where=sql), params)
        matching = cur.fetchone()[0]
        require_confirmation(action="adding", count=matching, confirm=confirm)
        query = json.dumps({"filters": filters})
        cur.execute(
            _INSERT_MATCHING.format(where=sql), [scene_set.pk, actor.pk, query, label, *params]
        )
        added = cur.fetchone()[0]
    scene_set.save(update_fields=["updated_at"])
    return AddReport(
        requested=matching,
        added=added,
        already_present=matching - added,
        count=scene_set.items.count(),
        skipped_duplicates=[],
        skipped_duplicates_count=0,
    )


# --- writing -------------------------------------------------------------------------------

_INSERT_PKS = """
    WITH added AS (
        INSERT INTO curation_scenesetitem
            (scene_set_id, scene_id, added_by_id, added_at, query, query_model, note, label)
        SELECT %s, wanted.pk, %s, now(), %s::jsonb, %s, '', wanted.label
        FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS wanted(pk, label, ord)
        ORDER BY wanted.ord
        ON CONFLICT (scene_set_id, scene_id) DO UPDATE SET label = EXCLUDED.label
            WHERE curation_scenesetitem.label = '' AND EXCLUDED.label <> ''
        RETURNING xmax = 0 AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted) FROM added
"""


def insert_items(
    scene_set: SceneSet,
    actor,
    pks: list[int],
    *,
    label: str | list[str] = "",
    query: dict | None = None,
    model: str = "",
) -> int:
    """Add scenes (pks, in order) as items with one label or a label each; an item
    already in the set keeps its values, but takes the label if it has none. Returns
    how many items are new."""
    labels = label if isinstance(label, list) else [label] * len(pks)
    if not pks:
        return 0
    with connection.cursor() as cur:
        cur.execute(
            _INSERT_PKS,
            [
                scene_set.pk,
                actor.pk,
                None if query is None else json.dumps(query),
                model,
                list(pks),
                labels,
            ],
        )
        added = cur.fetchone()[0]
    scene_set.save(update_fields=["updated_at"])
    return added


def _present(scene_set: SceneSet, pks: list[int]) -> set[int]:
    if not pks or not scene_set.items.exists():  # a new set: no 10^5-id lookup
        return set()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT scene_id FROM curation_scenesetitem WHERE scene_set_id = %s "
            "AND scene_id = ANY(%s::bigint[])",
            [scene_set.pk, id_array_literal(pks)],
        )
        return {row[0] for row in cur.fetchall()}


def _items(scene_set: SceneSet) -> list[int]:
    return list(scene_set.items.values_list("scene_id", flat=True))


def _named_skips(skipped: list[tuple[int, int]]) -> list[dict]:
    pks = {pk for pair in skipped for pk in pair}
    names = dict(Scene.objects.filter(pk__in=pks).values_list("pk", "scene_id"))
    return [{"scene_id": names[a], "duplicate_of": names[b]} for a, b in skipped]
