"""The GNSS gate at scale: `GET /api/v1/quality/gnss/` and `quality=` filters at 10^6 scenes,
and what keeping the per-day aggregates and flags costs an ingest batch. The last line
printed is one JSON object with the figures.

1. 10^6 synthetic scenes are COPYed in (200 vehicles over a year; fix rates around 0.97,
   some low vehicle-days, and outage days on which most of the fleet is low), then the
   aggregates and flags are built as migration catalog 0010 builds them (timed).
2. p50/p95 of `GET quality/gnss/` (by=day and by=vehicle_day) over random 90-day windows,
   and of `GET scenes/` with `quality=flagged|ok`, through the API client.
3. A 10^4-scene demo manifest (10 Hz signals) is ingested into that catalog with the gate
   and without it (its two functions replaced by no-ops), alternately, new scenes and
   then a re-ingest with changed fix rates; the time inside the gate's functions is also
   measured per batch.

    .venv/bin/python bench/quality.py [--scenes 1000000] [--manifest-scenes 10000]
                                      [--rounds 3] [--repeats 40] [--quick] [--rebuild]
"""

import argparse
import importlib
import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from common import ROOT, WORK_DIR, Timer, percentile, reset_tables, setup_django, summary_ms

VEHICLES = 200
DAYS = 365
LAST_DAY = date(2026, 12, 31)
OUTAGE_DAYS = 8
CAMERAS = ("front_wide", "front_narrow", "left", "right", "side_left", "side_right", "rear")


# --- the synthetic catalog ---------------------------------------------------------------


def copy_scenes(n_scenes: int, seed: int = 5) -> dict:
    from django.conf import settings
    from django.db import connection

    from catalog.models import Vehicle

    rng = np.random.default_rng(seed)
    Vehicle.objects.bulk_create(Vehicle(vehicle_id=f"veh-{i:03d}") for i in range(VEHICLES))
    vehicle_pk = dict(Vehicle.objects.values_list("vehicle_id", "pk"))
    pks = np.array([vehicle_pk[f"veh-{i:03d}"] for i in range(VEHICLES)])
    first = datetime.combine(LAST_DAY - timedelta(days=DAYS - 1), datetime.min.time())
    first = first.replace(tzinfo=settings.CATALOG_TZ)
    day = rng.integers(DAYS, size=n_scenes)
    vehicle = rng.integers(VEHICLES, size=n_scenes)
    low_vd = rng.random((VEHICLES, DAYS)) < 0.02
    outage_days = rng.choice(DAYS, size=OUTAGE_DAYS, replace=False)
    low_vd[:, outage_days] |= rng.random((VEHICLES, OUTAGE_DAYS)) < 0.7
    low = low_vd[vehicle, day]
    fix = np.where(low, rng.beta(4, 3, n_scenes), rng.beta(30, 1, n_scenes))
    unknown = rng.random(n_scenes) < 0.03
    seconds = day * 86400 + rng.integers(5 * 3600, 23 * 3600, size=n_scenes)
    speed = np.minimum(rng.gamma(4.0, 4.0, size=n_scenes), 38.0)
    lat = 35.55 + rng.uniform(0, 0.15, size=n_scenes)
    lon = 139.65 + rng.uniform(0, 0.2, size=n_scenes)
    base = first.timestamp()
    now = datetime.now(UTC).isoformat()
    columns = (
        "scene_id, vehicle_id, start_time, end_time, duration_s, local_hour, cameras, tags, "
        "extra, manifest_uri, content_sha256, max_speed_mps, mean_speed_mps, gnss_fix_rate, "
        "disengagement_count, start_lat, start_lon, min_lat, max_lat, min_lon, max_lon, "
        "track_lat, track_lon, ingested_at, updated_at"
    )
    cameras = "{" + ", ".join(f'"{c}": "s3://fleet/x/{c}.mp4"' for c in CAMERAS) + "}"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY catalog_scene ({columns}) FROM STDIN") as copy,
    ):
        chunk = []
        for i in range(n_scenes):
            start = datetime.fromtimestamp(base + float(seconds[i]), UTC)
            local = start.astimezone(settings.CATALOG_TZ)
            rate = "\\N" if unknown[i] else f"{fix[i]:.4f}"
            la, lo = lat[i], lon[i]
            chunk.append(
                f"veh-{vehicle[i]:03d}_{local:%Y%m%dT%H%M%S}_{i:07d}\t{pks[vehicle[i]]}\t"
                f"{start.isoformat()}\t{(start + timedelta(seconds=20)).isoformat()}\t20\t"
                f"{local.hour}\t{cameras}\t{{urban}}\t{{}}\t\t{i:064x}\t{speed[i]:.2f}\t"
                f"{speed[i] * 0.6:.2f}\t{rate}\t0\t{la:.6f}\t{lo:.6f}\t{la:.6f}\t"
                f"{la + 0.001:.6f}\t{lo:.6f}\t{lo + 0.001:.6f}\t{{{la:.6f},{la + 0.001:.6f}}}\t"
                f"{{{lo:.6f},{lo + 0.001:.6f}}}\t{now}\t{now}\n"
            )
            if len(chunk) == 20_000:
                copy.write("".join(chunk))
                chunk = []
        copy.write("".join(chunk))
    return {"outage_days": sorted(int(d) for d in outage_days)}


def build_catalog(n_scenes: int) -> dict:
    from django.db import connection

    gate = importlib.import_module("catalog.migrations.0011_gnss_gate")
    reset_tables("catalog_scene", "catalog_vehicle", "catalog_drive", "catalog_gnssvehicleday")
    with Timer() as copying:
        copy_scenes(n_scenes)
    print(f"COPY {n_scenes:,} scenes: {copying.seconds:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_scene")
    with Timer() as filling, connection.schema_editor() as editor:
        gate.fill(None, editor)  # what migration 0010 does to scenes it finds
    print(f"migration 0010 fill (aggregates + flags) at {n_scenes:,}: {filling.seconds:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE catalog_scene")
        cursor.execute("VACUUM ANALYZE catalog_gnssvehicleday")
    return {"copy_s": round(copying.seconds, 2), "fill_0010_s": round(filling.seconds, 2)}


def catalog_summary() -> str:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE gnss_fix_rate < %(t)s), "
            "count(*) FILTER (WHERE gnss_outage), "
            "count(*) FILTER (WHERE gnss_fix_rate < %(t)s OR gnss_outage) FROM catalog_scene",
            {"t": settings.CATALOG_GNSS_MIN_FIX_RATE},
        )
        scenes, low, outage, flagged = cursor.fetchone()
        cursor.execute("SELECT count(*), count(DISTINCT day) FROM catalog_gnssvehicleday")
        rows, days = cursor.fetchone()
    return (
        f"{scenes:,} scenes ({low:,} gnss_low, {outage:,} gnss_outage, {flagged:,} flagged); "
        f"{rows:,} vehicle-day rows over {days} days"
    )


def refresh_seconds() -> float:
    from catalog.quality_upkeep import quality_refresh

    with Timer() as t:
        quality_refresh()
    return t.seconds


# --- reads -------------------------------------------------------------------------------


def client():
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(username="bench")
    api = APIClient()
    api.force_authenticate(user)
    return api


def timed_get(api, url: str, params: dict) -> tuple[float, dict]:
    with Timer() as t:
        response = api.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return t.seconds, response.json()


def report_latency(repeats: int) -> dict:
    """Prints the tables; returns the figures (ms) for the summary line."""
    figures = {}
    api = client()
    rng = np.random.default_rng(1)
    first = LAST_DAY - timedelta(days=DAYS - 1)
    print("\n## GET /api/v1/quality/gnss/, random 90-day windows (ms)")
    print("| by | rows | p50 | p95 |")
    print("|---|---|---|---|")
    for by in ("day", "vehicle_day"):
        samples, rows = [], 0
        for i in range(repeats + 3):
            start = first + timedelta(days=int(rng.integers(0, DAYS - 90)))
            params = {"by": by, "start_after": start.isoformat(),
                      "start_before": (start + timedelta(days=89)).isoformat()}  # fmt: skip
            seconds, body = timed_get(api, "/api/v1/quality/gnss/", params)
            if i >= 3:  # the first few warm the connection and caches
                samples.append(seconds)
                rows = len(body["results"])
        p50, p95 = summary_ms(samples)
        print(f"| {by} | {rows:,} | {p50:.1f} | {p95:.1f} |")
        figures[f"gnss_{by}"] = {"rows": rows, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}

    print("\n## GET /api/v1/scenes/ with the quality filter (ms)")
    print("The list answers a count and the first page of 50; `page only` times the page's")
    print("query alone (scene_list), as a client paging without counts would see it.")
    print("| query | matches | p50 | p95 | page only p50 | p95 |")
    print("|---|---|---|---|---|---|")
    queries = {
        "(no filter, for reference)": {},
        "has_disengagement=false (reference)": {"has_disengagement": "false"},
        "quality=flagged": {"quality": "flagged"},
        "quality=ok": {"quality": "ok"},
        "vehicle + 30 days + flagged": {
            "vehicle": "veh-042", "quality": "flagged",
            "start_after": "2026-10-01T00:00:00+09:00", "start_before": "2026-10-31T00:00:00+09:00",
        },
    }  # fmt: skip
    for name, params in queries.items():
        timed_get(api, "/api/v1/scenes/", params)
        samples = []
        for _ in range(repeats):
            seconds, body = timed_get(api, "/api/v1/scenes/", params)
            samples.append(seconds)
        p50, p95 = summary_ms(samples)
        page_p50, page_p95 = summary_ms(page_only(params, repeats))
        print(
            f"| {name} | {body['count']:,} | {p50:.1f} | {p95:.1f} "
            f"| {page_p50:.1f} | {page_p95:.1f} |"
        )
        figures[f"scenes {name}"] = {
            "matches": body["count"],
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "page_p50_ms": round(page_p50, 1),
            "page_p95_ms": round(page_p95, 1),
        }
    return figures


def page_only(params: dict, repeats: int) -> list[float]:
    from catalog.filters import parse_query_params
    from catalog.selectors import scene_list

    filters = parse_query_params(params)
    samples = []
    for _ in range(repeats + 1):
        with Timer() as t:
            rows = list(scene_list(filters=filters).values_list("id", "scene_id")[:50])
        samples.append(t.seconds)
    assert rows or not params
    return samples[1:]


# --- ingest --------------------------------------------------------------------------------


def make_manifest(scenes: int) -> tuple[Path, Path]:
    """A demo manifest (10 Hz signals, days from 2026-11-02 on) and the same scenes with
    every fix rate changed (the re-ingest arm)."""
    import orjson

    out = WORK_DIR / f"quality-{scenes}"
    manifest = out / "manifest.jsonl"
    if not manifest.exists():
        subprocess.run(
            [sys.executable, "manage.py", "demo_fleet", "--scenes", str(scenes), "--out",
             str(out), "--no-video", "--seed", "11", "--no-progress"],
            check=True, cwd=ROOT,
        )  # fmt: skip
    changed = out / "manifest-changed.jsonl"
    if not changed.exists():
        with open(manifest, "rb") as lines, open(changed, "wb") as outfile:
            for line in lines:
                record = orjson.loads(line)
                fix = record["signals"]["gnss_fix"]
                record["signals"]["gnss_fix"] = [0] * 30 + fix[30:]
                record["tags"] = [*record["tags"], "reprocessed"]  # changed, whatever the fix
                outfile.write(orjson.dumps(record) + b"\n")
    return manifest, changed


class GateTimer:
    """Wraps the gate's two functions as the writer calls them, timing each batch; or
    replaces them with no-ops (the arm without the gate)."""

    def __init__(self):
        from catalog import quality_upkeep

        self.module = quality_upkeep
        self.real = (quality_upkeep.previous_contributions, quality_upkeep.scenes_written)
        self.batches: list[float] = []
        self.pending = 0.0

    def measure(self) -> None:
        previous, written = self.real

        def timed_previous(cursor, pks):
            started = time.perf_counter()
            try:
                return previous(cursor, pks)
            finally:
                self.pending = time.perf_counter() - started

        def timed_written(cursor, **kwargs):
            started = time.perf_counter()
            written(cursor, **kwargs)
            self.batches.append(self.pending + time.perf_counter() - started)
            self.pending = 0.0

        self.module.previous_contributions = timed_previous
        self.module.scenes_written = timed_written

    def disable(self) -> None:
        self.module.previous_contributions = lambda cursor, pks: self.module.Contributions()
        self.module.scenes_written = lambda cursor, **kwargs: None

    def restore(self) -> None:
        self.module.previous_contributions, self.module.scenes_written = self.real


def remove_manifest_scenes(manifest: Path, *, gate: bool) -> None:
    """Delete the manifest's scenes (by the drive ids the demo gives them); with the gate,
    rebuild its figures too (as `quality_refresh` would)."""
    from django.db import connection

    demo = (
        "SELECT s.id FROM catalog_scene s JOIN catalog_drive d ON d.id = s.drive_id "
        "WHERE d.drive_id LIKE 'veh-__\\_2026____'"
    )
    with connection.cursor() as cursor:
        for table in ("catalog_scenesignals", "catalog_disengagement"):
            cursor.execute(f"DELETE FROM {table} WHERE scene_id IN ({demo})")
        cursor.execute(f"DELETE FROM catalog_scene WHERE id IN ({demo})")
        cursor.execute("DELETE FROM catalog_drive WHERE drive_id LIKE 'veh-__\\_2026____'")
    if gate:
        refresh_seconds()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE catalog_scene")


def ingest_cost(scenes: int, rounds: int) -> dict:
    from django.conf import settings

    from catalog.services import manifest_ingest

    manifest, changed = make_manifest(scenes)
    timer = GateTimer()
    arms: dict[str, list[float]] = {}
    inside: dict[str, list[float]] = {"new": [], "changed": []}
    batches = 0
    for _ in range(rounds):
        for gate in (False, True):
            label = "with gate" if gate else "without"
            timer.measure() if gate else timer.disable()
            timer.batches = []
            try:
                with Timer() as fresh:
                    report = manifest_ingest(manifest_uri=str(manifest))
                assert report.inserted == scenes and not report.rejected, report.as_dict(3)
                new_batches = list(timer.batches)
                timer.batches = []
                with Timer() as again:
                    report = manifest_ingest(manifest_uri=str(changed))
                assert report.updated == scenes, report.as_dict(3)
                changed_batches = list(timer.batches)
            finally:
                timer.restore()
            arms.setdefault(f"new, {label}", []).append(fresh.seconds)
            arms.setdefault(f"changed, {label}", []).append(again.seconds)
            if gate:
                inside["new"] += new_batches
                inside["changed"] += changed_batches
                batches = len(new_batches)
            remove_manifest_scenes(manifest, gate=gate)

    size = settings.CATALOG_INGEST_BATCH_SIZE
    print(f"\n## Ingest of a {scenes:,}-scene manifest into that catalog "
          f"({batches} batches of {size:,}; best of {rounds})")  # fmt: skip
    figures = {"scenes": scenes, "batches": batches, "batch_size": size}
    print("| arm | seconds | scenes/s |")
    print("|---|---|---|")
    for name, seconds in arms.items():
        best = min(seconds)
        print(f"| {name} | {best:.2f} | {scenes / best:,.0f} |")
        figures[f"{name} s"] = round(best, 2)
    for kind in ("new", "changed"):
        extra = min(arms[f"{kind}, with gate"]) - min(arms[f"{kind}, without"])
        print(f"\n{kind} scenes: the gate adds {extra:+.2f} s end to end "
              f"({extra / max(1, batches) * 1000:+.0f} ms a batch)")  # fmt: skip
        ms = [s * 1000 for s in inside[kind]]
        print(f"  time inside the gate's functions per batch of {size:,}: "
              f"p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
              f"max {max(ms):.0f} ms")  # fmt: skip
        figures[f"{kind}: gate adds s"] = round(extra, 2)
        figures[f"{kind}: inside gate per batch p95 ms"] = round(percentile(ms, 95))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=1_000_000)
    parser.add_argument("--manifest-scenes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=40, help="requests per query")
    parser.add_argument("--quick", action="store_true", help="100,000 scenes, one round")
    parser.add_argument("--rebuild", action="store_true", help="COPY the catalog again")
    args = parser.parse_args()
    if args.quick:
        args.scenes, args.manifest_scenes, args.rounds, args.repeats = 100_000, 4_000, 1, 15

    setup_django("bench_quality")
    from django.db import connection

    from catalog.hooks import scenes_changed_paused

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_scene")
        present = cursor.fetchone()[0]
    figures = {"bench": "quality", "scenes": args.scenes, "quick": args.quick}
    if args.rebuild or present != args.scenes:
        figures["build"] = build_catalog(args.scenes)
    print(catalog_summary())
    refresh = refresh_seconds()
    print(f"quality_refresh (full rebuild) at {args.scenes:,}: {refresh:.1f} s")
    figures["quality_refresh_s"] = round(refresh, 2)
    figures["reads"] = report_latency(args.repeats)
    with scenes_changed_paused():  # ingest alone: no embedding is enqueued
        figures["ingest"] = ingest_cost(args.manifest_scenes, args.rounds)
    print(json.dumps(figures))  # the last line: every figure above, for scripts


if __name__ == "__main__":
    main()
