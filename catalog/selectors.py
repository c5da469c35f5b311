"""Reads over scenes, drives, jobs and ingested manifests. Filters compile to one SQL
boolean expression (`catalog.filter_sql`) shared by `GET scenes/`, vector search and
exports."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import BooleanField, Count, F, Max, Min, Q, QuerySet
from django.db.models.expressions import RawSQL

from catalog import quality
from catalog.errors import NotFound
from catalog.filter_sql import place_bounds_sql, scene_filter_sql
from catalog.filters import SceneFilters
from catalog.models import Disengagement, Drive, IngestedManifest, Job, Scene, Vehicle


def scene_list(*, filters: SceneFilters) -> QuerySet[Scene]:
    """Scenes matching every filter, newest first (ties by id, so pages are stable)."""
    queryset = Scene.objects.select_related("vehicle", "drive")
    if not filters.is_empty():
        sql, params = scene_filter_sql(filters, "catalog_scene")
        queryset = queryset.filter(RawSQL(sql, params, output_field=BooleanField()))
    return queryset.order_by("-start_time", "-id")


# A page's walk of the list order (below) reads at most this many scenes, unless the
# other plan looks even longer: ~25 ms of cheap filters at 10^6 scenes on a busy 2-core
# machine, a bound on what a filter the planner thought broad but that matches little
# can waste before the second plan.
PAGE_WALK_MAX = 50_000
PAGE_WALK_MIN = 1_000
# Work of the two plans in index entries: a walked scene costs about two (its heap row,
# read in order, and the filters), three with a place filter (its track's bounds
# compared with the place's first, and only the scenes there have their cell arrays
# compared with the covering's hundreds of cells: 10^6 scenes, 500 matches of `near`
# 500 m walked in 14 ms, 50 ms without the bounds), a match found through the filters' indexes
# three (its heap row, read at random); the walk's estimate counts double for the risk
# that matches are sparser where it walks than on average. Rough weights, measured at
# 10^6 scenes (bench/lists.py): they decide between plans an order of magnitude apart.
# A place covering's cells index reads each scene once per covering cell its track
# crosses (~3 of a level): its rows cost that many entries.
TRACK_CELLS_INDEX = "scene_track_cells_gin"
CELL_POSTINGS = 3
WALK_ROW_COST = 2
WALK_ROW_COST_PLACE = 3
MATCH_FETCH_COST = 3
WALK_RISK = 2
_NEWEST_FIRST = "s.start_time DESC, s.id DESC"
_OLDEST_FIRST = "s.start_time, s.id"


@dataclass(frozen=True)
class ScenePage:
    pks: list[int]
    matches_estimate: int  # the planner's estimate of the scenes matching the filters
    # All of them, exactly, when the page had to find them all anyway (a first page
    # served by the filters' indexes); else None.
    matches: int | None = None


def scene_page(
    *,
    filters: SceneFilters,
    after: tuple[datetime, int] | None = None,
    backward: bool = False,
    offset: int = 0,
    limit: int,
) -> ScenePage:
    """The next `limit` scenes of `scene_list(filters=filters)` after the sort key `after`
    = (start_time, id) (before it when `backward`, nearest first), skipping `offset`
    first: one page of the list, at a cost that neither the planner's blind spots nor
    (beyond the offset, which the caller bounds) its depth decide.

    Left to itself the planner walks the list's order index and filters until the page
    is full: right for broad filters, a walk of the whole table (seconds at 10^6) for
    filters it thinks broad that match little ("highway" + "pedestrians"); and for
    filters it thinks narrow it intersects whole bitmaps of every indexed filter, even
    one holding 80% of the scenes (night + rain + near at 10^6: 200-350 ms on a busy
    2-core machine, where a walk takes 25 ms). So the page takes
    two plans in turn:
      1. a walk of the order index from the key (within the bounds an index in that
         order serves: time range, disengagements), of at most a
         few times the scenes the filters' estimated share needs to fill the page: it
         stops as soon as the page is full. Tried when the planner's estimates make it
         cheaper (with a margin) than plan 2, in index entries read or their equivalent;
      2. the matches beyond the key (or beyond the walk, when it ran out before the page
         was full) found through the filters' own indexes, then sorted: cost ~ those
         matches and index entries, not the table. From the top of the list, that
         counts them all as well.
    """
    where, where_params = scene_filter_sql(filters, "s")
    order = _OLDEST_FIRST if backward else _NEWEST_FIRST
    position, position_params = _position_sql(after, backward)
    bounds, bounds_params = _walk_bounds_sql(filters)
    # Not in the plans' EXPLAIN: the planner would count the place's selectivity twice.
    place, place_params = place_bounds_sql(filters, "s")
    found: list[int] = []
    want = offset + limit
    with connection.cursor() as cursor:
        branches = [
            (f"{position} AND ({where})", [*position_params, *where_params]),
            (f"{position} AND {bounds}", [*position_params, *bounds_params]),
        ]
        if after is not None:  # the whole list's matches, for its count
            branches.append((where, where_params))
        plans = _plans(cursor, *branches)
        beyond, in_range = float(plans[0]["Plan Rows"]), float(plans[1]["Plan Rows"])
        estimate = round(float(plans[-1]["Plan Rows"]) if after is not None else beyond)
        expected_walk = want * in_range / max(beyond, 1)
        row_cost = WALK_ROW_COST_PLACE if filters.near or filters.bbox else WALK_ROW_COST
        index_work = _index_entries(plans[0], in_range) + MATCH_FETCH_COST * beyond
        if WALK_RISK * row_cost * expected_walk <= index_work:
            # Up to a few times the expected walk, and no longer than the other plan's
            # work (however long that is) or PAGE_WALK_MAX: what a wrong estimate wastes.
            longest = max(PAGE_WALK_MAX, index_work / row_cost)
            window = round(min(longest, max(PAGE_WALK_MIN, 4 * expected_walk)))
            ordered = f"FROM catalog_scene s WHERE {position} AND {bounds} ORDER BY {order}"
            cursor.execute(
                f"SELECT s.id FROM (SELECT * {ordered} LIMIT %s) AS s "
                f"WHERE {place} AND ({where}) ORDER BY {order} LIMIT %s",
                [*position_params, *bounds_params, window, *place_params, *where_params, want],
            )
            found = [row[0] for row in cursor.fetchall()]
            end = None
            if len(found) < want:
                cursor.execute(
                    f"SELECT s.start_time, s.id {ordered} OFFSET %s LIMIT 1",
                    [*position_params, *bounds_params, window - 1],
                )
                end = cursor.fetchone()
            if end is None:  # the page is full, or the walk saw every scene there is
                known = len(found) if after is None and len(found) < want else None
                return ScenePage(found[offset:], estimate, known)
            position, position_params = _position_sql(tuple(end), backward)
        # MATERIALIZED: planned for all of its rows, the filters' indexes find them. The
        # place's bounds go first among the checks of each row those indexes return.
        cursor.execute(
            f"WITH m AS MATERIALIZED (SELECT s.id, s.start_time FROM catalog_scene s "
            f"WHERE {position} AND {place} AND ({where})) SELECT s.id, count(*) OVER () "
            f"FROM m AS s ORDER BY {order} LIMIT %s",
            [*position_params, *place_params, *where_params, want - len(found)],
        )
        rows = cursor.fetchall()
    counted = rows[0][1] if rows else 0
    return ScenePage(
        (found + [row[0] for row in rows])[offset:],
        estimate,
        len(found) + counted if after is None else None,
    )


def _position_sql(after: tuple | None, backward: bool) -> tuple[str, list]:
    if after is None:
        return "TRUE", []
    # One row comparison: a range of the (start_time, id) index.
    return f"(s.start_time, s.id) {'>' if backward else '<'} (%s, %s)", list(after)


def _walk_bounds_sql(filters: SceneFilters) -> tuple[str, list]:
    """The filters an index in the list's order serves itself, so that a walk reads only
    scenes that pass them: the time range, and `has_disengagement` (a partial index on
    (start_time, id); at 10^6 scenes it skips the 91% without one: page 10 of
    disengaged + fast walked 1,700 scenes instead of 18,500)."""
    clauses, params = [], []
    if filters.has_disengagement is True:
        clauses.append("s.disengagement_count > 0")
    if filters.start_after:
        clauses.append("s.start_time >= %s")
        params.append(filters.start_after)
    if filters.start_before:
        clauses.append("s.start_time <= %s")
        params.append(filters.start_before)
    return " AND ".join(clauses) or "TRUE", params


def _plans(cursor, *branches: tuple[str, list]) -> list[dict]:
    """The planner's plans for `SELECT s.id FROM catalog_scene s WHERE <branch>`, one per
    branch, in one round trip (as the branches of one UNION ALL)."""
    union = " UNION ALL ".join(f"SELECT s.id FROM catalog_scene s WHERE {w}" for w, _ in branches)
    cursor.execute(f"EXPLAIN (FORMAT JSON) {union}", [p for _, params in branches for p in params])
    plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plans"]


def _index_entries(plan: dict, scenes: float) -> float:
    """Index entries (or, for a sequential scan, `scenes`) a plan reads: its work."""
    own = 0.0
    if plan["Node Type"] in ("Bitmap Index Scan", "Index Scan", "Index Only Scan"):
        own = float(plan["Plan Rows"])
        if plan.get("Index Name") == TRACK_CELLS_INDEX:
            own *= CELL_POSTINGS  # a scene is read once from each cell it crosses
    elif plan["Node Type"] == "Seq Scan" and plan.get("Relation Name") == "catalog_scene":
        own = scenes
    return own + sum(_index_entries(child, scenes) for child in plan.get("Plans", ()))


def scene_get(*, scene_id: str) -> Scene | None:
    return (
        Scene.objects.select_related("vehicle", "drive", "signals")
        .prefetch_related("disengagements")
        .filter(scene_id=scene_id)
        .first()
    )


def job_get(*, job_id: int, user) -> Job | None:
    """The job if `user` may see it (whoever started it, and staff), else None: to
    others a job that exists looks the same as one that does not."""
    jobs = Job.objects.filter(pk=job_id)
    if not user.is_staff:
        jobs = jobs.filter(created_by_id=user.pk)
    return jobs.first()


def scene_summaries(*, scene_pks: list[int]) -> dict[int, dict]:
    """What a result, card or list row says about each scene, by scene pk: the one
    definition of a scene's summary (`SceneSummary` in the API documents it)."""
    rows = (
        Scene.objects.filter(pk__in=scene_pks)
        .values(
            "pk", "scene_id", "vehicle__vehicle_id", "drive__drive_id", "start_time",
            "duration_s", "local_hour", "max_speed_mps", "mean_speed_mps", "gnss_fix_rate",
            "disengagement_count", "tags", "start_lat", "start_lon", "gnss_outage",
        )
    )  # fmt: skip
    summaries = {
        row["pk"]: {
            "scene_id": row["scene_id"],
            "vehicle_id": row["vehicle__vehicle_id"],
            "drive_id": row["drive__drive_id"],
            "start_time": row["start_time"],
            "duration_s": row["duration_s"],
            "local_hour": row["local_hour"],
            "max_speed_mps": row["max_speed_mps"],
            "mean_speed_mps": row["mean_speed_mps"],
            "gnss_fix_rate": row["gnss_fix_rate"],
            "disengagement_count": row["disengagement_count"],
            "disengagements": [],
            "tags": row["tags"],
            "start_lat": row["start_lat"],
            "start_lon": row["start_lon"],
            "quality_flags": quality.scene_flags(
                gnss_fix_rate=row["gnss_fix_rate"], gnss_outage=row["gnss_outage"]
            ),
        }
        for row in rows
    }
    with_diseng = [pk for pk, s in summaries.items() if s["disengagement_count"]]
    if with_diseng:
        for pk, t_s, kind in (
            Disengagement.objects.filter(scene_id__in=with_diseng)
            .order_by("scene_id", "t_s")
            .values_list("scene_id", "t_s", "kind")
        ):
            summaries[pk]["disengagements"].append({"t_s": t_s, "kind": kind})
    return summaries


# --- drives: a vehicle's trip as one timeline of scenes --------------------------------------

# A drive is read whole: a day's drive is ~1,500 scenes and 24 hours of 20-second scenes
# are 4,320, so the cap only bites on a drive id that spans days. Past it a timeline is
# read in windows (`from_s`).
MAX_DRIVE_SCENES = 5000
# Scenes of one vehicle may overlap a little (a scene cut late); the one covering a time
# is looked for among this many scenes starting at or before it.
COVER_LOOKBACK = 8


def drive_summary(*, drive_id: str) -> dict | None:
    """`{"drive_id", "vehicle_id", "start_time", "end_time", "scene_count",
    "camera_names"}` of a drive with at least one scene, else None. `start_time` is its
    first scene's start: every offset in the drive counts from it."""
    drive = Drive.objects.select_related("vehicle").filter(drive_id=drive_id).first()
    return _drive_summary(drive) if drive is not None else None


def _drive_summary(drive: Drive) -> dict | None:
    span = Scene.objects.filter(drive=drive).aggregate(
        start=Min("start_time"), end=Max("end_time"), count=Count("id")
    )
    if not span["count"]:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT jsonb_object_keys(cameras) FROM catalog_scene WHERE drive_id = %s",
            [drive.pk],
        )
        camera_names = sorted(row[0] for row in cursor.fetchall())
    return {
        "drive_id": drive.drive_id,
        "vehicle_id": drive.vehicle.vehicle_id,
        "start_time": span["start"],
        "end_time": span["end"],
        "scene_count": span["count"],
        "camera_names": camera_names,
    }


def drive_timeline(
    *, drive_id: str, from_s: float = 0.0, limit: int = MAX_DRIVE_SCENES
) -> dict | None:
    """A drive's scenes in time order, each placed by `offset_s`, seconds from the start
    of the drive's first scene; a gap in recording is where one scene's offset + duration
    falls short of the next one's offset. `{**drive_summary, "duration_s", "scenes":
    [{"scene_id", "offset_s", "duration_s", "disengagements": [{"t_s", "kind"}]}],
    "from_s", "truncated"}`, or None for an unknown drive.

    At most `limit` scenes, from the first that ends after `from_s`; `truncated` says
    more follow (read them with a later `from_s`)."""
    drive = Drive.objects.select_related("vehicle").filter(drive_id=drive_id).first()
    summary = _drive_summary(drive) if drive is not None else None
    if summary is None:
        return None
    start = summary["start_time"]
    scenes = Scene.objects.filter(drive=drive)
    if from_s > 0:
        scenes = scenes.filter(end_time__gt=start + timedelta(seconds=from_s))
    rows = list(
        scenes.order_by("start_time", "id").values_list(
            "pk", "scene_id", "start_time", "duration_s", "disengagement_count"
        )[: limit + 1]
    )
    truncated = len(rows) > limit
    rows = rows[:limit]
    disengagements: dict[int, list[dict]] = {}
    with_diseng = [row[0] for row in rows if row[4]]
    if with_diseng:
        for pk, t_s, kind in (
            Disengagement.objects.filter(scene_id__in=with_diseng)
            .order_by("scene_id", "t_s")
            .values_list("scene_id", "t_s", "kind")
        ):
            disengagements.setdefault(pk, []).append({"t_s": t_s, "kind": kind})
    return {
        **summary,
        "duration_s": (summary["end_time"] - start).total_seconds(),
        "from_s": from_s,
        "truncated": truncated,
        "scenes": [
            {
                "scene_id": scene_id,
                "offset_s": (scene_start - start).total_seconds(),
                "duration_s": duration_s,
                "disengagements": disengagements.get(pk, []),
            }
            for pk, scene_id, scene_start, duration_s, _ in rows
        ],
    }


def scene_drive_position(*, scene: Scene) -> dict | None:
    """Where a scene sits in its drive: `{"drive_id", "offset_s", "index" (1-based),
    "count", "previous_scene_id", "next_scene_id"}` (neighbours None at the ends), or
    None for a scene without a drive. Scenes starting together are ordered by id, as in
    `drive_timeline`."""
    if scene.drive_id is None:
        return None
    same_drive = Scene.objects.filter(drive_id=scene.drive_id)
    # (start_time, id) before / after the scene's, spelled so that the bound on start_time
    # is an index condition.
    start = scene.start_time
    earlier = Q(start_time__lte=start) & (Q(start_time__lt=start) | Q(id__lt=scene.pk))
    later = Q(start_time__gte=start) & (Q(start_time__gt=start) | Q(id__gt=scene.pk))
    span = same_drive.aggregate(
        start=Min("start_time"), count=Count("id"), before=Count("id", filter=earlier)
    )
    previous = same_drive.filter(earlier).order_by("-start_time", "-id")
    following = same_drive.filter(later).order_by("start_time", "id")
    return {
        "drive_id": Drive.objects.values_list("drive_id", flat=True).get(pk=scene.drive_id),
        "offset_s": (start - span["start"]).total_seconds(),
        "index": span["before"] + 1,
        "count": span["count"],
        "previous_scene_id": previous.values_list("scene_id", flat=True).first(),
        "next_scene_id": following.values_list("scene_id", flat=True).first(),
    }


def vehicle_moment(*, vehicle_id: str, at: datetime) -> dict:
    """What a vehicle recorded at the instant `at` (aware): `{"scene": {"scene_id",
    "drive_id", "t_s" (into the scene), "drive_t_s" (into the drive, None without one)}
    | None, "before", "after"}`. A scene covers [start, end). When none covers `at`,
    `before` and `after` are the nearest scenes on either side (`{"scene_id",
    "drive_id", "start_time", "end_time"}` or None). NotFound for an unknown vehicle."""
    vehicle = Vehicle.objects.filter(vehicle_id=vehicle_id).first()
    if vehicle is None:
        raise NotFound(f"no vehicle {vehicle_id!r}")
    fields = ("scene_id", "drive_id", "drive__drive_id", "start_time", "end_time")
    scenes = Scene.objects.filter(vehicle=vehicle)
    earlier = list(
        scenes.filter(start_time__lte=at)
        .order_by("-start_time", "-id")
        .values(*fields)[:COVER_LOOKBACK]
    )
    covering = next((row for row in earlier if row["end_time"] > at), None)
    if covering is not None:
        drive_t_s = None
        if covering["drive_id"] is not None:
            drive_start = Scene.objects.filter(drive_id=covering["drive_id"]).aggregate(
                start=Min("start_time")
            )["start"]
            drive_t_s = (at - drive_start).total_seconds()
        scene = {
            "scene_id": covering["scene_id"],
            "drive_id": covering["drive__drive_id"],
            "t_s": (at - covering["start_time"]).total_seconds(),
            "drive_t_s": drive_t_s,
        }
        return {"scene": scene, "before": None, "after": None}
    after = scenes.filter(start_time__gt=at).order_by("start_time", "id").values(*fields).first()
    before = max(earlier, key=lambda row: row["end_time"], default=None)
    return {"scene": None, "before": _scene_span(before), "after": _scene_span(after)}


def _scene_span(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {
        "scene_id": row["scene_id"],
        "drive_id": row["drive__drive_id"],
        "start_time": row["start_time"],
        "end_time": row["end_time"],
    }


# --- freshness -----------------------------------------------------------------------------

# Below this many rows a count is exact (a few ms); above, the statistics' live-row count.
EXACT_COUNT_MAX_ROWS = 20_000


def live_rows(table: str) -> int:
    """Rows in `table` (one of ours): exact when small, else PostgreSQL's live-row count
    (pg_stat_user_tables.n_live_tup, kept current by every insert and delete, within a
    second or so): cheap at any size."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = %s::regclass", [table]
        )
        row = cursor.fetchone()
        estimate = row[0] if row else 0
        if estimate >= EXACT_COUNT_MAX_ROWS:
            return int(estimate)
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        return int(cursor.fetchone()[0])


def ingested_manifest_list() -> QuerySet[IngestedManifest]:
    """Manifests the watched location offered, newest first (those still in progress,
    without `ingested_at`, first of all)."""
    return IngestedManifest.objects.order_by(
        F("ingested_at").desc(nulls_first=True), F("id").desc()
    )


def last_ingest_at() -> datetime | None:
    """When scenes last landed: the newest scene's arrival or the last watched manifest
    ingested, whichever is later (two index lookups)."""
    newest_scene = Scene.objects.order_by("-pk").values_list("ingested_at", flat=True).first()
    newest_manifest = (
        IngestedManifest.objects.filter(ingested_at__isnull=False)
        .order_by(F("ingested_at").desc(nulls_first=True))
        .values_list("ingested_at", flat=True)
        .first()
    )
    return max((t for t in (newest_scene, newest_manifest) if t is not None), default=None)
