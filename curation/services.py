"""Writes to scene sets, their items, versions and saved searches.

Every function is keyword-only and atomic. Changing a set requires its owner or a staff
user (`django.core.exceptions.PermissionDenied` otherwise); a missing or deleted set is
`NotFound`. Bad input raises `InvalidInput` naming the field; nothing is half-written.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from catalog import quality
from catalog.errors import InvalidInput, NotFound
from catalog.models import Scene
from curation import manifest, watches
from curation.access import can_edit
from curation.limits import (
    LABEL_MAX,
    MAX_SCENE_IDS_PER_REQUEST,
    MAX_SEARCH_RESULTS,
    NAME_MAX,
    TEXT_MAX,
    require_confirmation,
)
from curation.models import SavedSearch, SceneSet, SceneSetItem, SceneSetVersion
from embeddings import search as embeddings_search

_UNSET: Any = object()


@dataclass(frozen=True)
class AddResult:
    requested: int
    added: int
    already_present: int
    count: int  # items in the set afterwards


@dataclass(frozen=True)
class RemoveResult:
    removed: int
    not_in_set: list[str]
    count: int


# --- sets ----------------------------------------------------------------------------------


def _writable_set(scene_set_id: int, actor) -> SceneSet:
    """The live set, row-locked so concurrent edits and freezes of it are serialised."""
    scene_set = (
        SceneSet.objects.select_for_update()
        .filter(pk=scene_set_id, deleted_at__isnull=True)
        .first()
    )
    if scene_set is None:
        raise NotFound(f"scene set {scene_set_id} does not exist")
    if not can_edit(actor, scene_set):
        raise PermissionDenied("only the owner of a scene set (or staff) can change it")
    return scene_set


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput({"name": "a non-empty string is required"})
    if len(name.strip()) > NAME_MAX:
        raise InvalidInput({"name": f"at most {NAME_MAX} characters"})
    return name.strip()


def _clean_text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput({field: "a string is required"})
    if len(value) > TEXT_MAX:
        raise InvalidInput({field: f"at most {TEXT_MAX} characters"})
    return value


_NAME_CONSTRAINTS = {"sceneset_unique_live_name_per_owner", "savedsearch_unique_name"}


def _save_named(obj) -> None:
    """Save, turning the per-owner unique name constraint into a 400 naming `name`."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) in _NAME_CONSTRAINTS:
            raise InvalidInput({"name": f"the owner already has one named {obj.name!r}"}) from exc
        raise


@transaction.atomic
def scene_set_create(*, owner, name: str, description: str = "") -> SceneSet:
    scene_set = SceneSet(
        owner=owner, name=_clean_name(name), description=_clean_text("description", description)
    )
    _save_named(scene_set)
    return scene_set


@transaction.atomic
def scene_set_update(
    *, scene_set_id: int, actor, name: str = _UNSET, description: str = _UNSET
) -> SceneSet:
    scene_set = _writable_set(scene_set_id, actor)
    if name is not _UNSET:
        scene_set.name = _clean_name(name)
    if description is not _UNSET:
        scene_set.description = _clean_text("description", description)
    _save_named(scene_set)
    return scene_set


@transaction.atomic
def scene_set_delete(*, scene_set_id: int, actor) -> None:
    """Soft delete: hidden from lists and detail; its versions stay downloadable."""
    scene_set = _writable_set(scene_set_id, actor)
    scene_set.deleted_at = timezone.now()
    scene_set.save(update_fields=["deleted_at", "updated_at"])


# --- items ---------------------------------------------------------------------------------


def _clean_scene_ids(scene_ids: object) -> list[str]:
    if not isinstance(scene_ids, list) or not all(isinstance(s, str) for s in scene_ids):
        raise InvalidInput({"scene_ids": "a list of scene id strings is required"})
    if not scene_ids:
        raise InvalidInput({"scene_ids": "at least one scene id is required"})
    if len(scene_ids) > MAX_SCENE_IDS_PER_REQUEST:
        raise InvalidInput(
            {"scene_ids": f"at most {MAX_SCENE_IDS_PER_REQUEST} per request; send several"}
        )
    return list(dict.fromkeys(scene_ids))  # drop repeats, keep order


_INSERT_ITEMS = """
    INSERT INTO curation_scenesetitem
        (scene_set_id, scene_id, added_by_id, added_at, query, query_model, note)
    SELECT %s, s.id, %s, now(), %s::jsonb, %s, ''
    FROM unnest(%s::text[]) WITH ORDINALITY AS wanted(scene_id, ord)
    JOIN catalog_scene s ON s.scene_id = wanted.scene_id
    ORDER BY wanted.ord
    ON CONFLICT (scene_set_id, scene_id) DO NOTHING
"""


def _insert_items(
    scene_set: SceneSet, actor, scene_ids: list[str], query: dict | None, model: str
) -> AddResult:
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ITEMS,
            [
                scene_set.pk,
                actor.pk,
                None if query is None else json.dumps(query),
                model,
                scene_ids,
            ],
        )
        added = cursor.rowcount
    scene_set.save(update_fields=["updated_at"])
    return AddResult(
        requested=len(scene_ids),
        added=added,
        already_present=len(scene_ids) - added,
        count=scene_set.items.count(),
    )


@transaction.atomic
def scene_set_add_scenes(*, scene_set_id: int, actor, scene_ids: list[str]) -> AddResult:
    """Add scenes by id; idempotent. Any unknown id fails the request and adds nothing."""
    scene_set = _writable_set(scene_set_id, actor)
    wanted = _clean_scene_ids(scene_ids)
    known = set(Scene.objects.filter(scene_id__in=wanted).values_list("scene_id", flat=True))
    unknown = [scene_id for scene_id in wanted if scene_id not in known]
    if unknown:
        shown = ", ".join(unknown[:50]) + (
            f" and {len(unknown) - 50} more" if len(unknown) > 50 else ""
        )
        raise InvalidInput({"scene_ids": f"{len(unknown)} unknown scene ids: {shown}"})
    return _insert_items(scene_set, actor, wanted, None, "")


@transaction.atomic
def scene_set_add_search(*, scene_set_id: int, actor, search: dict) -> AddResult:
    """Run a search body (as `POST search/` takes) server-side and add its results.

    At most `MAX_SEARCH_RESULTS` scenes (the search's `limit`). Each new item records the
    body and the embedding model that ran it.
    """
    scene_set = _writable_set(scene_set_id, actor)
    if not isinstance(search, dict):
        raise InvalidInput({"search": "a search body (JSON object) is required"})
    try:
        request = embeddings_search.SearchRequest.from_json(search)
        response = embeddings_search.run_search(request)
    except InvalidInput as exc:
        raise InvalidInput({f"search.{k}": v for k, v in exc.errors.items()}) from exc
    except NotFound as exc:
        raise InvalidInput({"search": str(exc)}) from exc
    scene_ids = list(dict.fromkeys(r["scene_id"] for r in response.results))[:MAX_SEARCH_RESULTS]
    if not scene_ids:
        return AddResult(requested=0, added=0, already_present=0, count=scene_set.items.count())
    # A filters-only search uses no embedding model: record none.
    model = _model_name(response) if getattr(request, "has_vector_query", True) else ""
    return _insert_items(scene_set, actor, scene_ids, search, model)


def _model_name(response) -> str:
    model = getattr(response, "model", None)
    if isinstance(model, dict):
        return str(model.get("name") or "")
    return "" if model is None else str(getattr(model, "name", model))


@transaction.atomic
def scene_set_remove_scenes(*, scene_set_id: int, actor, scene_ids: list[str]) -> RemoveResult:
    scene_set = _writable_set(scene_set_id, actor)
    wanted = _clean_scene_ids(scene_ids)
    items = scene_set.items.filter(scene__scene_id__in=wanted)
    present = set(items.values_list("scene__scene_id", flat=True))
    removed, _ = SceneSetItem.objects.filter(pk__in=items.values("pk")).delete()
    scene_set.save(update_fields=["updated_at"])
    return RemoveResult(
        removed=removed,
        not_in_set=[scene_id for scene_id in wanted if scene_id not in present],
        count=scene_set.items.count(),
    )


def clean_label(value: object, field: str = "label") -> str:
    """A label: a string of at most LABEL_MAX characters on one line ("" for none)."""
    if not isinstance(value, str):
        raise InvalidInput({field: "a string is required"})
    label = value.strip()
    if len(label) > LABEL_MAX:
        raise InvalidInput({field: f"at most {LABEL_MAX} characters"})
    if any(not ch.isprintable() for ch in label):
        raise InvalidInput({field: "one line of printable characters"})
    return label


def _clean_time(field: str, value: object, duration_s: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput({field: "a number of seconds (or null) is required"})
    if not 0 <= value <= duration_s:
        raise InvalidInput({field: f"must be within the scene, 0..{duration_s:g} s"})
    return float(value)


@transaction.atomic
def scene_set_item_annotate(
    *,
    scene_set_id: int,
    actor,
    scene_id: str,
    note: str = _UNSET,
    label: str = _UNSET,
    t_start_s: float | None = _UNSET,
    t_end_s: float | None = _UNSET,
) -> SceneSetItem:
    """Set an item's note, label and/or time window (seconds from the scene start; null
    clears)."""
    scene_set = _writable_set(scene_set_id, actor)
    item = scene_set.items.select_related("scene").filter(scene__scene_id=scene_id).first()
    if item is None:
        raise NotFound(f"scene {scene_id} is not in scene set {scene_set_id}")
    duration = item.scene.duration_s
    if note is not _UNSET:
        item.note = _clean_text("note", note)
    if label is not _UNSET:
        item.label = clean_label(label)
    if t_start_s is not _UNSET:
        item.t_start_s = _clean_time("t_start_s", t_start_s, duration)
    if t_end_s is not _UNSET:
        item.t_end_s = _clean_time("t_end_s", t_end_s, duration)
    if item.t_start_s is not None and item.t_end_s is not None and item.t_end_s <= item.t_start_s:
        raise InvalidInput({"t_end_s": "must be after t_start_s"})
    item.save(update_fields=["note", "label", "t_start_s", "t_end_s"])
    scene_set.save(update_fields=["updated_at"])
    return item


# --- versions ------------------------------------------------------------------------------

# Manifest rows in scene_id byte order: stable whatever the database's collation, and a
# version's rows can be compared with another's in one merge. Positions are numbered over
# narrow (item, scene_id) rows so the sort stays in memory at 10^5 items; the wide scene
# columns are joined afterwards.
# Items the version excluded (rows written just before, see _exclude_items) are left out:
# the flags are read once, so each item is either copied or excluded, whatever an ingest
# changes meanwhile.
_COPY_ITEMS = """
    WITH ordered AS (
        SELECT i.id AS item_id,
               row_number() OVER (ORDER BY s.scene_id COLLATE "C") AS position
        FROM curation_scenesetitem i JOIN catalog_scene s ON s.id = i.scene_id
        WHERE i.scene_set_id = %s AND NOT EXISTS (
            SELECT 1 FROM curation_scenesetversionexclusion e
            WHERE e.version_id = %s AND e.scene_id = s.scene_id)
    )
    INSERT INTO curation_scenesetversionitem
        (version_id, position, scene_id, vehicle_id, drive_id, start_time, end_time,
         duration_s, t_start_s, t_end_s, note, label, cameras, tags, local_hour, max_speed_mps,
         mean_speed_mps, max_decel_mps2, gnss_fix_rate, disengagement_count,
         start_lat, start_lon, end_lat, end_lon)
    SELECT %s, o.position, s.scene_id, v.vehicle_id, d.drive_id, s.start_time, s.end_time,
           s.duration_s, i.t_start_s, i.t_end_s, i.note, i.label, s.cameras, s.tags, s.local_hour,
           s.max_speed_mps, s.mean_speed_mps, s.max_decel_mps2, s.gnss_fix_rate,
           s.disengagement_count, s.start_lat, s.start_lon, s.end_lat, s.end_lon
    FROM ordered o
    JOIN curation_scenesetitem i ON i.id = o.item_id
    JOIN catalog_scene s ON s.id = i.scene_id
    JOIN catalog_vehicle v ON v.id = s.vehicle_id
    LEFT JOIN catalog_drive d ON d.id = s.drive_id
"""


def _exclude_items(cursor, version: SceneSetVersion, scene_set: SceneSet) -> int:
    """Record the items the gate leaves out, each with the flags that do it; how many."""
    flags, flags_params = quality.flags_array_sql("s")
    flagged, flagged_params = quality.flagged_sql("s")
    cursor.execute(
        "INSERT INTO curation_scenesetversionexclusion (version_id, scene_id, reasons) "
        f"SELECT %s, s.scene_id, {flags} "
        "FROM curation_scenesetitem i JOIN catalog_scene s ON s.id = i.scene_id "
        f"WHERE i.scene_set_id = %s AND {flagged}",
        [version.pk, *flags_params, scene_set.pk, *flagged_params],
    )
    return cursor.rowcount


_PROVENANCE = """
    SELECT query, query_model, count(*) FROM curation_scenesetitem
    WHERE scene_set_id = %s GROUP BY query, query_model ORDER BY min(id)
"""


def _provenance(scene_set: SceneSet) -> tuple[list[str], list[dict]]:
    with connection.cursor() as cursor:
        cursor.execute(_PROVENANCE, [scene_set.pk])
        groups = cursor.fetchall()
    queries = [
        {"search": json.loads(q) if isinstance(q, str) else q, "model": m or None, "scenes": n}
        for q, m, n in groups
    ]
    return sorted({m for _, m, _ in groups if m}), queries


@transaction.atomic
def scene_set_freeze(
    *,
    scene_set_id: int,
    actor,
    note: str = "",
    confirm: bool = False,
    include_flagged: bool = False,
) -> SceneSetVersion:
    """Freeze the set's current items into version n+1: copy every manifest value, hash
    the jsonl manifest, and seal the version, all in this one transaction.

    Scenes with a quality flag (catalog.quality: bad GNSS) are left out of the manifest
    unless `include_flagged`; the version records how many and which, with their flags.
    A set whose every item is flagged is refused rather than frozen empty."""
    scene_set = _writable_set(scene_set_id, actor)
    note = _clean_text("note", note)
    count = scene_set.items.count()
    if count == 0:
        raise InvalidInput({"items": "the scene set is empty; add scenes before freezing"})
    require_confirmation(action="freezing", count=count, confirm=confirm)
    number = (scene_set.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    model_names, queries = _provenance(scene_set)
    version = SceneSetVersion.objects.create(
        scene_set=scene_set,
        number=number,
        note=note,
        created_by=actor,
        model_names=model_names,
        queries=queries,
        include_flagged=include_flagged,
    )
    excluded = 0
    with connection.cursor() as cursor:
        if not include_flagged:
            excluded = _exclude_items(cursor, version, scene_set)
        if excluded == count:
            raise InvalidInput(
                {
                    "include_flagged": f"all {count} scenes of the set have quality flags "
                    "(gnss_low, gnss_outage); send include_flagged: true to freeze them anyway"
                }
            )
        cursor.execute(_COPY_ITEMS, [scene_set.pk, version.pk, version.pk])
        copied = cursor.rowcount
    digest = hashlib.sha256()
    size = 0
    for chunk in manifest.iter_manifest(version, "jsonl"):
        digest.update(chunk)
        size += len(chunk)
    # The one permitted update of a version row (see migration 0002): sealing it.
    SceneSetVersion.objects.filter(pk=version.pk).update(
        count=copied, sha256=digest.hexdigest(), size_bytes=size, excluded_count=excluded
    )
    version.count, version.sha256, version.size_bytes = copied, digest.hexdigest(), size
    version.excluded_count = excluded
    return version


# --- saved searches ------------------------------------------------------------------------


def _clean_search(search: object) -> dict:
    if not isinstance(search, dict):
        raise InvalidInput({"search": "a search body (JSON object) is required"})
    try:
        embeddings_search.SearchRequest.from_json(search)
    except InvalidInput as exc:
        raise InvalidInput({f"search.{k}": v for k, v in exc.errors.items()}) from exc
    except NotFound as exc:
        raise InvalidInput({"search": str(exc)}) from exc
    return search


def _writable_search(saved_search_id: int, actor) -> SavedSearch:
    saved = SavedSearch.objects.select_for_update().filter(pk=saved_search_id).first()
    if saved is None:
        raise NotFound(f"saved search {saved_search_id} does not exist")
    if not can_edit(actor, saved):
        raise PermissionDenied("only the owner of a saved search (or staff) can change it")
    return saved


@transaction.atomic
def saved_search_create(
    *, owner, name: str, search: dict, watch: dict | None = None
) -> SavedSearch:
    """Save a search; with `watch`, also a standing query over new data (curation.watches)."""
    saved = SavedSearch(owner=owner, name=_clean_name(name), search=_clean_search(search))
    watch_settings = watches.clean_watch(watch, owner=owner)
    _save_named(saved)
    if watch_settings is not None:
        watches.watch_apply(saved, watch_settings)
    return saved


@transaction.atomic
def saved_search_update(
    *,
    saved_search_id: int,
    actor,
    name: str = _UNSET,
    search: dict = _UNSET,
    watch: dict | None = _UNSET,
) -> SavedSearch:
    """Change a search; `watch` replaces its watch whole (None turns it off)."""
    saved = _writable_search(saved_search_id, actor)
    if name is not _UNSET:
        saved.name = _clean_name(name)
    if search is not _UNSET:
        saved.search = _clean_search(search)
    watch_settings = _UNSET if watch is _UNSET else watches.clean_watch(watch, owner=saved.owner)
    _save_named(saved)
    if watch_settings is not _UNSET:
        watches.watch_apply(saved, watch_settings)
    elif search is not _UNSET:
        watches.watch_follow_search(saved)
    return saved


@transaction.atomic
def saved_search_delete(*, saved_search_id: int, actor) -> None:
    _writable_search(saved_search_id, actor).delete()
