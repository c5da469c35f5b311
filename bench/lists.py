"""`GET scenes/` and set items at the fleet's size: first, shallow and deep pages.

Data (database `bench_lists`, or `bench_lists_<N>` for another size, kept between
runs; --rebuild regenerates): N scenes (10^6;
--quick 10^5) written straight by COPY: 100 vehicles driving over six months, drives of
5-30 minutes out of eight Tokyo districts (the demo fleet's routes), 1 Hz tracks with
their grid cells (catalog.geo.track_cells_rows, so `near` works), speeds by road type,
~9% of scenes with disengagements, tags (road, night, rain, intersection, pedestrians,
tunnel, hard_braking), GNSS fix rates with two fleet-wide outage days; 7 sampled frames
per scene (one per camera, at t=0) for the rows' thumbnails. One set holds 10^5 items,
interleaved with a second set's as concurrent curation leaves them.

Arms, side by side in one run, every case `--repeats` requests (Django test client,
authenticated, the whole DRF response):
  ours  KeysetPagination: page 1, page 10 by number, page 10 and page 1,000 by cursor
        (the cursor a client holds after following `next`), count exact up to 10,000
  old   PageNumberPagination with an exact COUNT(*): page 1, 10 and 1,000 by number
for no filter, each filter alone and a few combinations, plus a 10^5-item set's items.
A filter with fewer matches than 1,000 pages is measured at its last page instead.
Every query an `ours` page sends is EXPLAINed: none may scan the scene table whole.
The machine's load average is printed with the figures (a shared machine's p95 moves
with it).

    .venv/bin/python bench/lists.py [--scenes 1000000] [--quick] [--repeats 50] [--rebuild]

The last line printed is one JSON object (`scenes`, `list_p95_ms`, per-case figures).
"""

import argparse
import json
import math
import os
import re
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
from common import Timer, raw_connection, reset_tables, setup_django, summary_ms

VEHICLES = 100
DAYS = 182
FIRST_DAY = datetime(2026, 5, 1, tzinfo=UTC) - timedelta(hours=9)  # 00:00 in Tokyo
SCENE_S = 20
CAMERAS = ("front_wide", "front_tele", "left", "right", "rear", "left_rear", "right_rear")
SET_ITEMS = 100_000
PAGE_SIZE = 50
DEEP_PAGE = 1000
OUTAGE_DAYS = (40, 41)  # day indexes on which the whole fleet's GNSS fix is poor
CHUNK_DRIVES = 400

# The demo fleet's districts (demo/driving.py ROUTES): centre, road type, pedestrians.
DISTRICTS = (
    ("heiwajima-depot-loop", 35.5786, 139.7497, "urban", 0.35, 1.2),
    ("odaiba-waterfront", 35.6268, 139.7750, "urban", 0.5, 1.0),
    ("shibuya-crossing", 35.6595, 139.7005, "urban", 0.9, 1.0),
    ("shinagawa-konan", 35.6285, 139.7387, "urban", 0.6, 1.0),
    ("ginza-chuo-dori", 35.6717, 139.7650, "urban", 0.85, 1.0),
    ("osaki-loop", 35.6197, 139.7286, "urban", 0.5, 1.2),
    ("shuto-wangan", 35.5786, 139.7497, "highway", 0.0, 0.8),
    ("shuto-c1-inner-loop", 35.6717, 139.7650, "highway", 0.0, 0.8),
)

CASES = {
    "no filter": "",
    "near Heiwajima 500 m": "near=35.5786,139.7497,500",
    "bbox Shinagawa": "bbox=139.72,35.61,139.75,35.64",
    "vehicle + time range": "vehicle=veh-042&start_after=2026-07-01T00:00:00%2B09:00"
    "&start_before=2026-07-31T00:00:00%2B09:00",
    "has_disengagement + speed": "has_disengagement=true&max_speed_gte=15",
    "tag pedestrians": "tag=pedestrians",
    "tag tunnel + rain": "tag=tunnel&tag=rain",
    "hour 1-4": "hour_gte=1&hour_lte=4",
    "gnss poor": "gnss_fix_rate_lte=0.8",
    "vehicle": "vehicle=veh-007",
    "time range (a week)": "start_after=2026-08-01T00:00:00%2B09:00"
    "&start_before=2026-08-08T00:00:00%2B09:00",
    "mean speed fast": "mean_speed_gte=20",
    "night + rain + near": "hour_gte=19&tag=rain&near=35.6595,139.7005,800",
    "disengaged, poor gnss, bbox": "has_disengagement=true&gnss_fix_rate_lte=0.9"
    "&bbox=139.70,35.55,139.80,35.68",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 scenes")
    parser.add_argument("--repeats", type=int, default=50, help="requests per case (>= 50)")
    parser.add_argument("--set-items", type=int, default=SET_ITEMS)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--only", help="only cases whose names contain one of these (a,b)")
    parser.add_argument("--load-only", action="store_true", help="build the data, measure nothing")
    args = parser.parse_args()
    if args.quick:
        args.scenes = 100_000
    # One database per size, so both sizes' data can be kept.
    setup_django("bench_lists" if args.scenes == 1_000_000 else f"bench_lists_{args.scenes}")
    load(args)
    print_data_summary()
    if args.load_only:
        return
    load_before = os.getloadavg()[0]
    results = measure(args)
    results["loadavg"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    print_tables(results)
    floor = results["floor"]
    print(
        f"\nfloor (GET searches/, empty): {_cell(floor)} ms; load average (1 min) before / after: "
        f"{results['loadavg']} on {os.cpu_count()} cores"
    )
    print(json.dumps(summary_json(args, results)))


# --- data ----------------------------------------------------------------------------------


def load(args) -> None:
    from catalog.models import Scene

    have = Scene.objects.count()
    if have == args.scenes and not args.rebuild:
        print(f"reusing {have:,} scenes (--rebuild to redo)", flush=True)
        restore_indexes()
        ensure_sets(args)
        return
    reset_tables(
        "curation_scenesetitem", "curation_sceneset", "embeddings_frame", "catalog_disengagement",
        "catalog_scene", "catalog_drive", "catalog_vehicle",
    )  # fmt: skip
    rng = np.random.default_rng(args.seed)
    for table in ("catalog_scene", "embeddings_frame", "catalog_disengagement"):
        drop_indexes(table)
    with Timer() as t:
        scenes = copy_fleet(args.scenes, rng)
    print(f"COPY {scenes:,} scenes + drives, disengagements, frames: {t.seconds:.0f} s", flush=True)
    with Timer() as t:
        restore_indexes()
    print(f"scene indexes rebuilt: {t.seconds:.0f} s", flush=True)
    ensure_sets(args)
    with Timer() as t, _cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE: {t.seconds:.0f} s", flush=True)


def _cursor():
    from django.db import connection

    return connection.cursor()


DROPPED_TABLE = "CREATE TABLE IF NOT EXISTS bench_dropped_index (name text PRIMARY KEY, sql text)"


def drop_indexes(table: str) -> None:
    """Drop the table's indexes that back no constraint (built after the load, much
    faster than maintained row by row). Their definitions are kept in a table of the
    bench database first, so a load that fails half-way leaves them to the next run."""
    with _cursor() as cur:
        cur.execute(DROPPED_TABLE)
        cur.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [table],
        )
        for name, sql in cur.fetchall():
            cur.execute(
                "INSERT INTO bench_dropped_index VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [name, sql],
            )
            cur.execute(f'DROP INDEX "{name}"')


def restore_indexes() -> None:
    with _cursor() as cur:
        cur.execute(DROPPED_TABLE)
        cur.execute("SELECT name, sql FROM bench_dropped_index")
        for name, sql in cur.fetchall():
            cur.execute(sql.replace(" INDEX ", " INDEX IF NOT EXISTS ", 1))
            cur.execute("DELETE FROM bench_dropped_index WHERE name = %s", [name])


def _copy_text(value) -> str:
    """A value in COPY's text format (no value here holds a tab, newline or backslash)."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "{" + ",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "}"
    return str(value)


class TextCopy:
    """Rows of one model as COPY text lines: given columns, every other column its
    default (so a column added later with a default does not break the bench)."""

    def __init__(self, model, given: tuple[str, ...]):
        from django.db.models import JSONField

        self.table = model._meta.db_table
        fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in fields]
        self.given = given
        self.defaults = {}
        for f in fields:
            if f.column in given:
                continue
            value = f.get_default()
            if isinstance(f, JSONField):
                value = json.dumps(value)
            self.defaults[f.column] = _copy_text(value)
        unknown = set(given) - set(self.columns)
        assert not unknown, f"{self.table} has no column(s) {unknown}"

    def sql(self) -> str:
        return f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"

    def line(self, values: dict[str, str]) -> str:
        return "\t".join(values.get(c) or self.defaults[c] for c in self.columns) + "\n"


def plan_drives(n_scenes: int, rng) -> list[tuple]:
    """(vehicle, start, scenes, district) per drive: each vehicle drives in up to three
    slots a day (morning, afternoon, evening), never two drives at once."""
    lengths = []
    total = 0
    while total < n_scenes:
        length = int(min(rng.integers(15, 91), n_scenes - total))
        lengths.append(length)
        total += length
    per_vehicle = math.ceil(len(lengths) / VEHICLES)
    slots = DAYS * 3
    assert per_vehicle <= slots, "more drives than a vehicle's slots"
    weights = np.array([d[5] for d in DISTRICTS])
    districts = rng.choice(len(DISTRICTS), size=len(lengths), p=weights / weights.sum())
    chosen = [iter(rng.choice(slots, size=per_vehicle, replace=False)) for _ in range(VEHICLES)]
    drives = []
    for i, length in enumerate(lengths):
        vehicle = i % VEHICLES
        slot = int(next(chosen[vehicle]))
        day, part = divmod(slot, 3)
        # Slots start 05:00, 11:00 and 17:00 local; evening drives run into the night.
        hour = (5, 11, 17)[part] + rng.uniform(0, 5.5 if part < 2 else 9.5)
        start = FIRST_DAY + timedelta(days=day, hours=float(hour))
        drives.append((vehicle, start.replace(microsecond=0), length, int(districts[i])))
    drives.sort(key=lambda d: d[1])  # manifests arrive in time order: ids follow time
    return drives


def simulate_track(rng, district: int, n_scenes: int) -> tuple[np.ndarray, ...]:
    """1 Hz positions and speeds of one drive: heading random walk with junction turns
    (urban) or gentle bends (highway), speeds by road type."""
    _, lat0, lon0, road, _, _ = DISTRICTS[district]
    seconds = n_scenes * SCENE_S + 1
    urban = road == "urban"
    scene_speed = rng.uniform(2.0, 12.0, n_scenes) if urban else rng.uniform(12.0, 26.0, n_scenes)
    speed = np.repeat(scene_speed, SCENE_S)
    speed = np.append(speed, speed[-1]) + rng.normal(0, 1.2 if urban else 1.8, seconds)
    stops = rng.random(n_scenes) < (0.25 if urban else 0.02)  # standing at a light
    speed[:-1][np.repeat(stops, SCENE_S) & (np.tile(np.arange(SCENE_S), n_scenes) < 8)] = 0.0
    speed = np.clip(speed, 0.0, 38.0)
    turn = rng.normal(0, 0.03 if urban else 0.01, seconds)
    if urban:
        junctions = rng.random(seconds) < 1 / 50
        turn[junctions] += rng.choice([-np.pi / 2, np.pi / 2], size=int(junctions.sum()))
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(turn)
    angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(100, 900)
    x = radius * np.sin(angle) + np.cumsum(speed * np.sin(heading))
    y = radius * np.cos(angle) + np.cumsum(speed * np.cos(heading))
    lat = np.round(lat0 + y / 111_320.0, 7)
    lon = np.round(lon0 + x / (111_320.0 * math.cos(math.radians(lat0))), 7)
    return lat, lon, speed, scene_speed


def copy_fleet(n_scenes: int, rng) -> int:
    from django.conf import settings
    from django.db import connection

    from catalog import geo
    from catalog.models import Disengagement, Drive, Scene
    from embeddings.models import Frame

    tz = settings.CATALOG_TZ
    now = datetime.now(UTC).isoformat()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO catalog_vehicle (id, vehicle_id, created_at) "
            "SELECT i + 1, 'veh-' || lpad(i::text, 3, '0'), now() FROM generate_series(0, %s) i",
            [VEHICLES - 1],
        )
        cur.execute("SELECT setval('catalog_vehicle_id_seq', %s)", [VEHICLES])
    drives = plan_drives(n_scenes, rng)
    scene_copy = TextCopy(Scene, tuple(c for c in _scene_columns()))
    drive_copy = TextCopy(Drive, ("id", "drive_id", "vehicle_id", "created_at"))
    diseng_copy = TextCopy(Disengagement, ("id", "scene_id", "t_s", "kind"))
    frame_copy = TextCopy(Frame, ("id", "scene_id", "camera", "t_s", "thumbnail_uri"))
    conn = raw_connection()
    scene_pk = diseng_pk = frame_pk = 0
    with conn, conn.cursor() as cur:
        # The rows are consistent by construction: skip the per-row foreign key triggers.
        cur.execute("SET session_replication_role = replica")
        drive_lines = []
        for d, (vehicle, start, _, _) in enumerate(drives, 1):
            drive_id = f"veh-{vehicle:03d}_{start.astimezone(tz):%Y%m%dT%H%M}"
            drive_lines.append(drive_copy.line({
                "id": str(d), "drive_id": drive_id, "vehicle_id": str(vehicle + 1),
                "created_at": now,
            }))  # fmt: skip
        with cur.copy(drive_copy.sql()) as copy:
            copy.write("".join(drive_lines))
        for first in range(0, len(drives), CHUNK_DRIVES):
            scene_lines, diseng_lines, frame_lines = [], [], []
            for d, (vehicle, start, length, district) in enumerate(
                drives[first : first + CHUNK_DRIVES], first + 1
            ):
                name, _, _, road, pedestrian_rate, _ = DISTRICTS[district]
                lat, lon, speed, _ = simulate_track(rng, district, length)
                idx = np.arange(length)[:, None] * SCENE_S + np.arange(SCENE_S + 1)[None, :]
                tlat, tlon, tspeed = lat[idx], lon[idx], speed[idx]
                cells = geo.track_cells_rows(tlat, tlon)
                rain = rng.random() < 0.22
                outage = (start - FIRST_DAY).days in OUTAGE_DAYS
                fix = np.where(
                    rng.random(length) < 0.85, 1.0, np.round(rng.beta(6, 1.5, length), 3)
                )
                if outage:
                    fix = np.round(rng.uniform(0.2, 0.7, length), 3)
                urban = road == "urban"
                p_diseng = 0.11 if urban else 0.05
                diseng = np.where(rng.random(length) < p_diseng, rng.integers(1, 4, length), 0)
                junction = rng.random(length) < 0.35
                decel = np.maximum(0.0, -np.diff(tspeed, axis=1).min(axis=1))
                for k in range(length):
                    scene_pk += 1
                    t0 = start + timedelta(seconds=k * SCENE_S)
                    local = t0.astimezone(tz)
                    scene_id = f"veh-{vehicle:03d}_{local:%Y%m%dT%H%M%S}_{k:03d}"
                    tags = [road]
                    if local.hour >= 19 or local.hour < 5:
                        tags.append("night")
                    if rain:
                        tags.append("rain")
                    if urban and junction[k]:
                        tags.append("intersection")
                    if urban and rng.random() < pedestrian_rate * 0.5:
                        tags.append("pedestrians")
                    if not urban and rng.random() < 0.05:
                        tags.append("tunnel")
                    if decel[k] > 3.0:
                        tags.append("hard_braking")
                    la, lo = tlat[k], tlon[k]
                    cameras = {c: f"s3://fleet/{scene_id}/{c}.mp4" for c in CAMERAS}
                    extra = {"route": name, "weather": "rain" if rain else "clear"}
                    scene_lines.append(scene_copy.line({
                        "id": str(scene_pk), "scene_id": scene_id,
                        "vehicle_id": str(vehicle + 1), "drive_id": str(d),
                        "start_time": t0.isoformat(),
                        "end_time": (t0 + timedelta(seconds=SCENE_S)).isoformat(),
                        "duration_s": "20.0", "local_hour": str(local.hour),
                        "cameras": json.dumps(cameras),
                        "tags": _copy_text(tags),
                        "extra": json.dumps(extra),
                        "manifest_uri": f"s3://fleet/manifests/{local:%Y%m%d}.jsonl",
                        "content_sha256": f"{scene_pk:064x}",
                        "max_speed_mps": f"{tspeed[k].max():.3f}",
                        "mean_speed_mps": f"{tspeed[k].mean():.3f}",
                        "max_decel_mps2": f"{decel[k]:.3f}",
                        "gnss_fix_rate": str(fix[k]),
                        "disengagement_count": str(diseng[k]),
                        "start_lat": str(la[0]), "start_lon": str(lo[0]),
                        "end_lat": str(la[-1]), "end_lon": str(lo[-1]),
                        "min_lat": str(la.min()), "max_lat": str(la.max()),
                        "min_lon": str(lo.min()), "max_lon": str(lo.max()),
                        "track_lat": "{" + ",".join(map(str, la.tolist())) + "}",
                        "track_lon": "{" + ",".join(map(str, lo.tolist())) + "}",
                        "track_cells": "{" + ",".join(map(str, cells[k])) + "}",
                        "ingested_at": now, "updated_at": now,
                    }))  # fmt: skip
                    for _ in range(int(diseng[k])):
                        diseng_pk += 1
                        diseng_lines.append(diseng_copy.line({
                            "id": str(diseng_pk), "scene_id": str(scene_pk),
                            "t_s": f"{rng.uniform(0, SCENE_S):.1f}",
                            "kind": ("driver_override", "planner_timeout", "system_fault")[
                                int(rng.integers(3))],
                        }))  # fmt: skip
                    for camera in CAMERAS:
                        frame_pk += 1
                        frame_lines.append(frame_copy.line({
                            "id": str(frame_pk), "scene_id": str(scene_pk), "camera": camera,
                            "t_s": "0.0",
                            "thumbnail_uri": f"file:///media/thumbs/{scene_pk}/{camera}_0.jpg",
                        }))  # fmt: skip
            for copy_rows, lines in (
                (scene_copy, scene_lines), (diseng_copy, diseng_lines), (frame_copy, frame_lines)
            ):  # fmt: skip
                with cur.copy(copy_rows.sql()) as copy:
                    copy.write("".join(lines))
            done = min(first + CHUNK_DRIVES, len(drives))
            if done % (CHUNK_DRIVES * 10) == 0 or done == len(drives):
                print(f"  {scene_pk:,} scenes", flush=True)
        for table, value in (
            ("catalog_scene", scene_pk), ("catalog_drive", len(drives)),
            ("catalog_disengagement", diseng_pk), ("embeddings_frame", frame_pk),
        ):  # fmt: skip
            cur.execute(f"SELECT setval('{table}_id_seq', %s)", [max(value, 1)])
    conn.close()
    return scene_pk


def _scene_columns() -> tuple[str, ...]:
    return (
        "id", "scene_id", "vehicle_id", "drive_id", "start_time", "end_time", "duration_s",
        "local_hour", "cameras", "tags", "extra", "manifest_uri", "content_sha256",
        "max_speed_mps", "mean_speed_mps", "max_decel_mps2", "gnss_fix_rate",
        "disengagement_count", "start_lat", "start_lon", "end_lat", "end_lon", "min_lat",
        "max_lat", "min_lon", "max_lon", "track_lat", "track_lon", "track_cells",
        "ingested_at", "updated_at",
    )  # fmt: skip


def ensure_sets(args) -> None:
    """The big set (`--set-items` items) and a second set of the same size whose items
    were added in between (ids interleaved), as two people curating at once leave them."""
    from django.contrib.auth import get_user_model

    from curation.models import SceneSet, SceneSetItem

    user, _ = get_user_model().objects.get_or_create(username="bench")
    big = SceneSet.objects.filter(name="big", owner=user).first()
    if big and SceneSetItem.objects.filter(scene_set=big).count() == args.set_items:
        return
    reset_tables("curation_scenesetitem", "curation_sceneset")
    big = SceneSet.objects.create(name="big", owner=user)
    other = SceneSet.objects.create(name="other", owner=user)
    from catalog.models import Scene

    scenes = Scene.objects.count()
    n = min(args.set_items, scenes)
    rng = np.random.default_rng(args.seed + 1)
    # Each set's scenes drawn on their own (a scene may be in both), items alternating.
    mine, theirs = (rng.choice(scenes, size=n, replace=False) + 1 for _ in range(2))
    scene_pks = np.stack([mine, theirs], axis=1).ravel()
    item_copy = TextCopy(
        SceneSetItem, ("id", "scene_set_id", "scene_id", "added_by_id", "added_at", "query")
    )
    now = datetime.now(UTC).isoformat()
    lines = [
        item_copy.line(
            {
                "id": str(i + 1),
                "scene_set_id": str(big.pk if i % 2 == 0 else other.pk),
                "scene_id": str(pk),
                "added_by_id": str(user.pk),
                "added_at": now,
                "query": r"\N",
            }
        )
        for i, pk in enumerate(scene_pks.tolist())
    ]
    conn = raw_connection()
    with conn, conn.cursor() as cur:
        with cur.copy(item_copy.sql()) as copy:
            copy.write("".join(lines))
        cur.execute("SELECT setval('curation_scenesetitem_id_seq', %s)", [len(lines)])
        cur.execute("ANALYZE curation_scenesetitem")
    conn.close()


def print_data_summary() -> None:
    with _cursor() as cur:
        cur.execute(
            "SELECT count(*), min(start_time), max(start_time), "
            "avg((disengagement_count > 0)::int), avg(gnss_fix_rate), "
            "avg(cardinality(track_cells)), pg_total_relation_size('catalog_scene') "
            "FROM catalog_scene"
        )
        n, first, last, diseng, fix, cells, size = cur.fetchone()
        cur.execute("SELECT count(*) FROM catalog_drive")
        drives = cur.fetchone()[0]
    print(
        f"\n{n:,} scenes, {drives:,} drives, {first:%Y-%m-%d} .. {last:%Y-%m-%d}; "
        f"{diseng:.1%} with disengagements, mean GNSS fix rate {fix:.3f}, "
        f"{cells:.0f} track cells per scene; catalog_scene {size / 2**30:.2f} GiB",
        flush=True,
    )


# --- measuring -----------------------------------------------------------------------------


def old_views():
    """`scenes/` and set items as they were before KeysetPagination: page numbers
    (OFFSET) and an exact COUNT(*), rows built the same way."""
    from django.utils import timezone

    from api.pagination import Pagination
    from api.scenes import SUMMARY_VALUES, SceneListView, scene_summary
    from api.sets import SceneSetItemsView
    from embeddings.selectors import representative_frames

    class SummaryRows:
        def __init__(self, scenes):
            self.scenes, self.ordered = scenes, scenes.ordered

        def count(self) -> int:
            return self.scenes.count()

        def __len__(self) -> int:
            return self.count()

        def __getitem__(self, index: slice) -> list[dict]:
            return list(self.scenes.values(*SUMMARY_VALUES)[index])

    class OldSceneListView(SceneListView):
        pagination_class = Pagination

        def list(self, request, *args, **kwargs):
            page = self.paginate_queryset(SummaryRows(self.get_queryset()))
            zone = timezone.get_current_timezone()
            frames = representative_frames(scene_pks=[row["id"] for row in page])
            rows = [scene_summary(row, zone, frames.get(row["id"])) for row in page]
            return self.get_paginated_response(rows)

    class OldItemsView(SceneSetItemsView):
        pagination_class = Pagination

    return OldSceneListView, OldItemsView


def install_old_urls() -> None:
    """Serve the old views at /old/... beside the project's URLs, so both arms go
    through the same test client, middleware and routing."""
    import types

    from django.conf import settings
    from django.urls import clear_url_caches, include, path

    old_scenes, old_items = old_views()
    module = types.ModuleType("bench_lists_urls")
    module.urlpatterns = [
        path("old/scenes/", old_scenes.as_view()),
        path("old/sets/<int:set_id>/items/", old_items.as_view()),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()


def client():
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(username="bench")
    api = APIClient()
    api.force_authenticate(user)
    return api


def timed(api, url: str, repeats: int) -> dict:
    response = api.get(url)  # warm-up, not measured
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    samples = []
    for _ in range(repeats):
        with Timer() as t:
            response = api.get(url)
        samples.append(t.seconds)
    p50, p95 = summary_ms(samples)
    return {"p50": round(p50, 1), "p95": round(p95, 1), "rows": len(response.json()["results"])}


def cursor_to_page(queryset, page: int, size: int = PAGE_SIZE) -> str | None:
    """The cursor of `page` as a client holds it after following `next` from page 1: the
    sort key of the previous page's last row (found once here with an OFFSET)."""
    from api.pagination import encode_cursor

    if page <= 1:
        return None
    key = queryset.values_list("start_time", "id")[(page - 1) * size - 1]
    return encode_cursor(tuple(key))


SCANS = re.compile(r"(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)")


def plans_of(api, url: str) -> str:
    """The scene indexes the request's queries use, from EXPLAIN of every query it sends,
    and a check that none reads the whole scene table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    used = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.startswith(("SELECT", "WITH")) or "catalog_scene" not in sql:
            continue
        if sql.startswith(("SELECT current_setting", "SELECT set_config")):
            continue
        with connection.cursor() as cur:
            cur.execute(f"EXPLAIN {sql}")
            lines = [row[0] for row in cur.fetchall()]
        assert not any("Seq Scan on catalog_scene" in line for line in lines), "\n".join(lines)
        for name in SCANS.findall("\n".join(lines)):
            if name.startswith("scene") and name not in used:
                used.append(name)
    return "+".join(used) or "-"


def measure(args) -> dict:
    from django.http import QueryDict

    from api.pagination import bounded_count
    from catalog.filters import parse_query_params
    from catalog.selectors import scene_list
    from curation.models import SceneSet, SceneSetItem

    install_old_urls()
    api = client()
    # The floor under the machine's current load: an authenticated list, one tiny query.
    out = {"cases": {}, "items": {}, "floor": timed(api, "/api/v1/searches/", args.repeats)}
    for name, query in CASES.items():
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        queryset = scene_list(filters=parse_query_params(QueryDict(query)))
        with Timer() as counting:
            matches = queryset.count()
        count, estimated = bounded_count(queryset, cap=10_000)
        deep = min(DEEP_PAGE, max(1, (matches - 1) // PAGE_SIZE + 1))
        deep_cursor = cursor_to_page(queryset, deep)
        sep = "&" if query else ""
        url = f"/api/v1/scenes/?{query}{sep}page_size={PAGE_SIZE}"
        old = f"/old/scenes/?{query}{sep}page_size={PAGE_SIZE}"
        plans = [plans_of(api, url)]
        if deep_cursor:
            plans.append(plans_of(api, f"{url}&cursor={deep_cursor}"))
        case = {
            "matches": matches, "count": count, "count_is_estimate": estimated,
            "exact_count_ms": round(counting.seconds * 1000, 1), "deep_page": deep,
            "plans": plans, "ours": {}, "old": {},
        }  # fmt: skip
        ten_cursor = cursor_to_page(queryset, 10) if matches > 9 * PAGE_SIZE else None
        arms = {"page 1": url, "page 10": f"{url}&page=10" if ten_cursor else None}
        arms["page 10 cursor"] = f"{url}&cursor={ten_cursor}" if ten_cursor else None
        arms["deep cursor"] = f"{url}&cursor={deep_cursor}" if deep_cursor else None
        for arm, arm_url in arms.items():
            if arm_url:
                case["ours"][arm] = timed(api, arm_url, args.repeats)
        if deep * PAGE_SIZE > 10_000 + PAGE_SIZE:
            refused = api.get(f"{url}&page={deep}")
            assert refused.status_code == 400 and "page" in refused.json()["errors"]
            case["ours"]["deep page number"] = "400"
        for arm, page in (("page 1", 1), ("page 10", 10), ("deep page number", deep)):
            if page == 1 or page * PAGE_SIZE <= matches + PAGE_SIZE - 1:
                case["old"][arm] = timed(api, f"{old}&page={page}", args.repeats)
        out["cases"][name] = case
        print(f"  measured {name}: {matches:,} matches", flush=True)
    big = SceneSet.objects.get(name="big")
    items = SceneSetItem.objects.filter(scene_set=big).count()
    last = (items - 1) // PAGE_SIZE + 1
    key = (
        SceneSetItem.objects.filter(scene_set=big)
        .order_by("pk")
        .values_list("pk", flat=True)[(last - 1) * PAGE_SIZE - 1]
    )
    from api.pagination import encode_cursor

    url = f"/api/v1/sets/{big.pk}/items/?page_size={PAGE_SIZE}"
    old = f"/old/sets/{big.pk}/items/?page_size={PAGE_SIZE}"
    out["items"] = {
        "items": items, "deep_page": last,
        "ours": {
            "page 1": timed(api, url, args.repeats),
            "page 10": timed(api, f"{url}&page=10", args.repeats),
            "deep cursor": timed(api, f"{url}&cursor={encode_cursor((key,))}", args.repeats),
        },
        "old": {
            "page 1": timed(api, f"{old}&page=1", args.repeats),
            "page 10": timed(api, f"{old}&page=10", args.repeats),
            "deep page number": timed(api, f"{old}&page={last}", args.repeats),
        },
    }  # fmt: skip
    return out


ARMS = ("page 1", "page 10", "page 10 cursor", "deep cursor", "deep page number")


def _cell(figures) -> str:
    if figures is None:
        return "-"
    if isinstance(figures, str):
        return figures
    return f"{figures['p50']:.1f} / {figures['p95']:.1f}"


def print_tables(results: dict) -> None:
    print("\n## GET scenes/ (50 rows a page): p50 / p95 ms")
    print("Deep = page 1,000 (or the last page when fewer). ours: KeysetPagination; old:")
    print("PageNumberPagination with an exact COUNT(*).\n")
    print("| case | matches | count | deep page | arm | " + " | ".join(ARMS) + " | plan |")
    print("|---|---|---|---|---|" + "---|" * len(ARMS) + "---|")
    for name, case in results["cases"].items():
        count = f"~{case['count']:,}" if case["count_is_estimate"] else f"{case['count']:,}"
        for arm_set in ("ours", "old"):
            cells = " | ".join(_cell(case[arm_set].get(arm)) for arm in ARMS)
            head = (
                f"| {name} | {case['matches']:,} | {count} | {case['deep_page']:,}"
                if arm_set == "ours"
                else "| | | |"
            )
            plan = " , ".join(case["plans"]) if arm_set == "ours" else ""
            print(f"{head} | {arm_set} | {cells} | {plan} |")
    items = results["items"]
    size, last = items["items"], items["deep_page"]
    print(f"\n## GET sets/<id>/items/: a set of {size:,} items (page {last:,} is the last)")
    print("| arm | page 1 | page 10 | deep cursor | deep page number |")
    print("|---|---|---|---|---|")
    for arm_set in ("ours", "old"):
        row = items[arm_set]
        cells = " | ".join(
            _cell(row.get(a)) for a in ("page 1", "page 10", "deep cursor", "deep page number")
        )
        print(f"| {arm_set} | {cells} |")


def _worst(arms: dict) -> float:
    return max((f["p95"] for f in arms.values() if isinstance(f, dict)), default=0.0)


def summary_json(args, results: dict) -> dict:
    from catalog.models import Scene

    cases = results["cases"]
    ours = [_worst(c["ours"]) for c in cases.values()] + [_worst(results["items"]["ours"])]
    old = [_worst(c["old"]) for c in cases.values()] + [_worst(results["items"]["old"])]
    return {
        "bench": "lists",
        "scenes": Scene.objects.count(),
        "repeats": args.repeats,
        "list_p95_ms": max(ours),
        "old_list_p95_ms": max(old),
        "goal_p95_ms": 50,
        "loadavg_1m": results["loadavg"],
        "floor_ms": results["floor"],
        "cases": cases,
        "items": results["items"],
    }


if __name__ == "__main__":
    main()
