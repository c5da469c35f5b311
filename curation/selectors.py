"""Reads of scene sets, items, versions and saved searches (any signed-in user may read).

Deleted sets are hidden from `scene_set_list`/`scene_set_get`, but `version_get` still
finds their versions: a training run that used one can always fetch it again.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Count, F, IntegerField, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from catalog.errors import InvalidInput, NotFound
from curation.models import (
    Hit,
    SavedSearch,
    SceneSet,
    SceneSetItem,
    SceneSetVersion,
    SceneSetVersionExclusion,
)
from embeddings.search.results import Found, results


def _count_of(model, **match) -> Coalesce:
    rows = model.objects.filter(**match).order_by().values(*match).annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n")), Value(0), output_field=IntegerField())


def _annotated(queryset: QuerySet[SceneSet]) -> QuerySet[SceneSet]:
    # Subqueries, not joins: a join of items x versions would multiply rows.
    return queryset.select_related("owner").annotate(
        item_count=_count_of(SceneSetItem, scene_set=OuterRef("pk")),
        version_count=_count_of(SceneSetVersion, scene_set=OuterRef("pk")),
        latest_version=Subquery(
            SceneSetVersion.objects.filter(scene_set=OuterRef("pk"))
            .order_by()
            .values("scene_set")
            .annotate(n=Max("number"))
            .values("n")
        ),
    )


def scene_set_list(*, owner_username: str | None = None, q: str | None = None) -> QuerySet:
    """Live sets, most recently changed first; optionally one owner's, or names containing q."""
    sets = SceneSet.objects.filter(deleted_at__isnull=True)
    if owner_username:
        sets = sets.filter(owner__username=owner_username)
    if q:
        sets = sets.filter(name__icontains=q)
    return _annotated(sets).order_by("-updated_at", "-pk")


def scene_set_get(*, scene_set_id: int, include_deleted: bool = False) -> SceneSet:
    sets = SceneSet.objects.filter(pk=scene_set_id)
    if not include_deleted:
        sets = sets.filter(deleted_at__isnull=True)
    scene_set = _annotated(sets).first()
    if scene_set is None:
        raise NotFound(f"scene set {scene_set_id} does not exist")
    return scene_set


def scene_set_live(*, scene_set_id: int) -> SceneSet:
    """A live set without its counts, for reads that only need it to exist: counting a
    set's items reads an index entry per item (10^5 for a large set)."""
    scene_set = SceneSet.objects.filter(pk=scene_set_id, deleted_at__isnull=True).first()
    if scene_set is None:
        raise NotFound(f"scene set {scene_set_id} does not exist")
    return scene_set


def scene_set_resolve(reference: str) -> SceneSet:
    """A set named by id or by name, for the shell. Ids find deleted sets too (their
    versions stay exportable); a name must match exactly one live set."""
    if reference.isdigit():
        return scene_set_get(scene_set_id=int(reference), include_deleted=True)
    matches = list(
        SceneSet.objects.filter(name=reference, deleted_at__isnull=True).select_related("owner")
    )
    if not matches:
        raise NotFound(f"no scene set named {reference!r}")
    if len(matches) > 1:
        choices = ", ".join(f"{s.pk} (owner {s.owner.username})" for s in matches)
        raise InvalidInput(
            {"set": f"{len(matches)} sets are named {reference!r}: use an id: {choices}"}
        )
    return matches[0]


def version_latest(*, scene_set: SceneSet) -> SceneSetVersion:
    version = version_list(scene_set=scene_set).last()
    if version is None:
        raise NotFound(f"scene set {scene_set.pk} has no frozen version")
    return version


def scene_set_items(*, scene_set: SceneSet, label: str | None = None) -> QuerySet[SceneSetItem]:
    """Items in the order they were added; only those with `label` if given."""
    items = SceneSetItem.objects.filter(scene_set=scene_set)
    if label is not None:
        items = items.filter(label=label.strip())
    return items.select_related("scene__vehicle", "added_by").order_by("pk")


def scene_set_item_get(*, scene_set: SceneSet, scene_id: str) -> SceneSetItem:
    item = scene_set_items(scene_set=scene_set).filter(scene__scene_id=scene_id).first()
    if item is None:
        raise NotFound(f"scene {scene_id} is not in scene set {scene_set.pk}")
    return item


def version_list(*, scene_set: SceneSet) -> QuerySet[SceneSetVersion]:
    return (
        SceneSetVersion.objects.filter(scene_set=scene_set, sha256__isnull=False)
        .select_related("created_by")
        .order_by("number")
    )


def version_get(*, scene_set_id: int, number: int) -> SceneSetVersion:
    """A sealed version, also of a deleted set."""
    version = (
        SceneSetVersion.objects.filter(
            scene_set_id=scene_set_id, number=number, sha256__isnull=False
        )
        .select_related("created_by", "scene_set")
        .first()
    )
    if version is None:
        raise NotFound(f"scene set {scene_set_id} has no version {number}")
    return version


def version_exclusions(*, version: SceneSetVersion) -> QuerySet[SceneSetVersionExclusion]:
    """The items the version left out (the GNSS gate), by scene id."""
    return SceneSetVersionExclusion.objects.filter(version=version).order_by("scene_id")


# Rows present in both versions whose manifest values differ (scene re-ingested, note or
# time window changed between the freezes).
_DIFF = """
    SELECT coalesce(a.scene_id, b.scene_id),
           CASE WHEN b.scene_id IS NULL THEN 'added'
                WHEN a.scene_id IS NULL THEN 'removed'
                ELSE 'changed' END
    FROM (SELECT * FROM curation_scenesetversionitem WHERE version_id = %s) a
    FULL JOIN (SELECT * FROM curation_scenesetversionitem WHERE version_id = %s) b
      ON a.scene_id = b.scene_id
    WHERE a.scene_id IS NULL OR b.scene_id IS NULL
       OR (a.vehicle_id, a.drive_id, a.start_time, a.end_time, a.duration_s, a.t_start_s,
           a.t_end_s, a.note, a.label, a.cameras, a.tags, a.local_hour, a.max_speed_mps,
           a.mean_speed_mps, a.max_decel_mps2, a.gnss_fix_rate, a.disengagement_count,
           a.start_lat, a.start_lon, a.end_lat, a.end_lon)
          IS DISTINCT FROM
          (b.vehicle_id, b.drive_id, b.start_time, b.end_time, b.duration_s, b.t_start_s,
           b.t_end_s, b.note, b.label, b.cameras, b.tags, b.local_hour, b.max_speed_mps,
           b.mean_speed_mps, b.max_decel_mps2, b.gnss_fix_rate, b.disengagement_count,
           b.start_lat, b.start_lon, b.end_lat, b.end_lon)
    ORDER BY coalesce(a.scene_id, b.scene_id) COLLATE "C"
"""


def version_diff(*, version: SceneSetVersion, against: SceneSetVersion) -> dict[str, list[str]]:
    """Scene ids `added` in `version` since `against`, `removed`, and `changed` (in both,
    with different manifest values)."""
    diff: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    with connection.cursor() as cursor:
        cursor.execute(_DIFF, [version.pk, against.pk])
        for scene_id, kind in cursor:
            diff[kind].append(scene_id)
    return diff


def saved_search_list(*, owner_username: str | None = None) -> QuerySet[SavedSearch]:
    searches = SavedSearch.objects.select_related("owner", "watch").order_by("-updated_at", "-pk")
    if owner_username:
        searches = searches.filter(owner__username=owner_username)
    return searches


def saved_search_get(*, saved_search_id: int) -> SavedSearch:
    saved = SavedSearch.objects.select_related("owner", "watch").filter(pk=saved_search_id).first()
    if saved is None:
        raise NotFound(f"saved search {saved_search_id} does not exist")
    return saved


# --- standing queries ----------------------------------------------------------------------


def standing_query_list() -> QuerySet[SavedSearch]:
    """Saved searches that carry a watch, most recently changed first."""
    return saved_search_list().filter(watch__isnull=False)


def saved_search_hits(*, saved_search_id: int, since: datetime | None = None) -> QuerySet[Hit]:
    """The hits of a saved search's watch, newest first (found after `since` if given)."""
    saved_search_get(saved_search_id=saved_search_id)  # NotFound for an unknown search
    hits = (
        Hit.objects.filter(search_id=saved_search_id)
        .annotate(scene_key=F("scene__scene_id"))
        .order_by("-found_at", "-id")
    )
    if since is not None:
        hits = hits.filter(found_at__gt=since)
    return hits


def hit_results(hits: Sequence[Hit]) -> list[dict]:
    """Hits (from `saved_search_hits`) as search results (scene summary, score, the moment
    that matched, `match`) plus `found_at`. A moment no longer stored (the scene was
    embedded again with other sampling), or none recorded (a filters-only search), shows
    the scene's representative moment."""
    found_at = {h.scene_key: h.found_at for h in hits}
    shown = results([Found(h.scene_id, h.frame_id, h.score, h.match) for h in hits], keep_gone=True)
    return [{**r, "found_at": found_at[r["scene_id"]]} for r in shown]
