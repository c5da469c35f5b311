"""Ingest throughput and filter latency at 100,000 scenes.

Arms, measured side by side in one run on the same manifest:
  ours      manifest_ingest: parse workers + COPY (and the same with parsing in-process)
  baseline  the naive way: per-row ORM get_or_create/save() in a transaction per scene
One more arm ingests the same scenes without their inline signals (camera URIs, times,
tags and disengagements only), to show what the 10 Hz signals cost: ~10 KB of a line's
~11 KB, and most of the CPU time per scene.
Then the disk the catalog's tables use per scene, and p50/p95 of five typical
`GET /api/v1/scenes/` filter queries (count + first page).

    .venv/bin/python bench/ingest.py [--scenes 100000] [--baseline 1000] [--quick]
                                     [--only-ours]

--only-ours ingests with the catalog's path alone (no naive, in-process or lean arm, no
re-ingest): the fleet-size run, `--scenes 1000000 --only-ours` (a 10.7 GB manifest).
"""

import argparse
import subprocess
import sys
from pathlib import Path

from common import ROOT, WORK_DIR, Timer, reset_tables, setup_django, summary_ms

QUERIES = {
    "fast + disengagement": "max_speed_gte=8.3&has_disengagement=true",
    "near Heiwajima 500 m": "near=35.5786,139.7497,500",
    "night, tag rain": "hour_gte=19&tag=rain",
    "vehicle + time range": "vehicle=veh-03&start_after=2026-11-10T00:00:00%2B09:00"
    "&start_before=2026-11-20T00:00:00%2B09:00",
    "poor GNSS, slow": "gnss_fix_rate_lte=0.9&mean_speed_lte=5",
}


def make_manifest(scenes: int) -> Path:
    out = WORK_DIR / f"ingest-{scenes}"
    manifest = out / "manifest.jsonl"
    if not manifest.exists():
        print(f"generating {scenes:,} scene manifest (no videos) in {out}", flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "demo_fleet", "--scenes", str(scenes), "--out",
             str(out), "--no-video", "--seed", "7"],
            check=True, cwd=ROOT,
        )  # fmt: skip
    return manifest


def without_signals(manifest: Path) -> Path:
    import orjson

    out = manifest.with_name("manifest-no-signals.jsonl")
    if not out.exists():
        partial = out.with_suffix(".partial")
        with open(manifest, "rb") as lines, open(partial, "wb") as stripped:
            for line in lines:
                record = orjson.loads(line)
                record.pop("signals", None)
                stripped.write(orjson.dumps(record) + b"\n")
        partial.rename(out)
    return out


def naive_ingest(manifest: Path, limit: int) -> int:
    """Per-row ORM writes, as a first version would do it (validation reused)."""
    import orjson
    from django.conf import settings
    from django.db import transaction

    from catalog import storage
    from catalog.ingest.records import parse_record
    from catalog.models import Disengagement, Drive, Scene, SceneSignals, Vehicle

    uri = storage.to_uri(manifest)
    count = 0
    with open(manifest, "rb") as lines:
        for line in lines:
            if count >= limit:
                break
            rec = parse_record(orjson.loads(line), manifest_uri=uri, tz=settings.CATALOG_TZ)
            with transaction.atomic():
                vehicle, _ = Vehicle.objects.get_or_create(vehicle_id=rec.vehicle_id)
                drive = None
                if rec.drive_id:
                    drive, _ = Drive.objects.get_or_create(drive_id=rec.drive_id, vehicle=vehicle)
                scene = Scene.objects.filter(scene_id=rec.scene_id).first() or Scene(
                    scene_id=rec.scene_id
                )
                for name in (
                    "start_time", "end_time", "duration_s", "local_hour", "cameras", "tags",
                    "extra", "content_sha256", "max_speed_mps", "mean_speed_mps",
                    "max_decel_mps2", "gnss_fix_rate", "start_lat", "start_lon", "end_lat",
                    "end_lon", "min_lat", "max_lat", "min_lon", "max_lon",
                ):  # fmt: skip
                    setattr(scene, name, getattr(rec, name))
                scene.vehicle, scene.drive = vehicle, drive
                scene.track_lat, scene.track_lon = rec.track_lat or [], rec.track_lon or []
                scene.track_cells = rec.track_cells or []
                scene.disengagement_count = len(rec.disengagements or [])
                scene.save()
                if rec.signals_hz:
                    SceneSignals(
                        scene=scene, hz=rec.signals_hz, samples=rec.signals_samples,
                        channels=rec.signals_channels, data=rec.signals_data,
                    ).save()  # fmt: skip
                for d in rec.disengagements or []:
                    Disengagement(scene=scene, t_s=d["t_s"], kind=d["kind"]).save()
            count += 1
    return count


def query_latency(repeats: int) -> dict[str, tuple[float, float, int]]:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = APIClient()
    client.force_authenticate(user)
    results = {}
    for name, query in QUERIES.items():
        client.get(f"/api/v1/scenes/?{query}")  # warm-up, not measured
        samples = []
        for _ in range(repeats):
            with Timer() as t:
                response = client.get(f"/api/v1/scenes/?{query}")
            assert response.status_code == 200, response.content[:300]
            samples.append(t.seconds)
        results[name] = (*summary_ms(samples), response.json()["count"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=100, help="requests per query")
    parser.add_argument("--quick", action="store_true", help="10,000 scenes, 300 baseline")
    parser.add_argument(
        "--only-ours", action="store_true", help="the catalog's ingest alone (fleet-size runs)"
    )
    args = parser.parse_args()
    if args.quick:
        args.scenes, args.baseline, args.repeats = 10_000, 300, 20

    setup_django("bench_ingest")
    from catalog.hooks import scenes_changed_paused

    with scenes_changed_paused():  # measure ingestion alone: no embedding is enqueued
        run(args)


CATALOG_TABLES = (
    "catalog_scene", "catalog_scenesignals", "catalog_disengagement", "catalog_drive",
    "catalog_vehicle",
)  # fmt: skip


def run(args) -> None:
    from django.conf import settings

    from catalog.services import manifest_ingest

    manifest = make_manifest(args.scenes)
    tables = ("catalog_scene", "catalog_vehicle", "catalog_drive")
    rows = []  # (arm, scenes, seconds, rate)

    def ingest(arm: str, uri: Path, **kw):
        reset_tables(*tables)
        with Timer() as t:
            report = manifest_ingest(manifest_uri=str(uri), **kw)
        assert not report.rejected, report.rejected[:3]
        rows.append((arm, f"{report.inserted:,}", t.seconds, report.inserted / t.seconds))
        return report

    if not args.only_ours:
        reset_tables(*tables)
        with Timer() as naive:
            naive_count = naive_ingest(manifest, args.baseline)
        naive_rate = naive_count / naive.seconds
        ingest("ours, parsed in-process (1 worker)", manifest, workers=1)
        ingest("ours, same scenes without inline signals", without_signals(manifest))
    workers = settings.CATALOG_INGEST_WORKERS
    ingest(f"ours ({workers} parse workers, COPY)", manifest)
    ours_rate = rows[-1][3]
    if not args.only_ours:
        rows.append(("naive per-row ORM save()", f"{naive_count:,}", naive.seconds, naive_rate))
        with Timer() as again:
            rerun = manifest_ingest(manifest_uri=str(manifest))
        rows.append((
            "ours, re-ingest unchanged", f"{rerun.unchanged:,} unchanged", again.seconds,
            rerun.lines / again.seconds,
        ))  # fmt: skip
    settle()

    print()
    print(f"## Ingest ({args.scenes:,} scenes, signals at 10 Hz, no videos)")
    print("| arm | scenes | seconds | scenes/s |")
    print("|---|---|---|---|")
    for arm, scenes, seconds, rate in rows:
        print(f"| {arm} | {scenes} | {seconds:.1f} | {rate:,.0f} |")
    if not args.only_ours:
        print(f"\nratio ours / naive: {ours_rate / naive_rate:.1f}x  (goal >= 10x)")
    print_disk(manifest, args.scenes)

    print(f"\n## Filter queries at {args.scenes:,} scenes (GET /api/v1/scenes/: count + page 1)")
    print("| query | matches | p50 ms | p95 ms |")
    print("|---|---|---|---|")
    worst = 0.0
    for name, (p50, p95, count) in query_latency(args.repeats).items():
        worst = max(worst, p95)
        print(f"| {name} | {count:,} | {p50:.1f} | {p95:.1f} |")
    print(f"\nworst p95: {worst:.1f} ms (goal <= 50 ms)")


def settle() -> None:
    """Queries are measured on a settled catalog, as autovacuum leaves it after an
    ingest: otherwise its pass over the new signal rows competes for the cores."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def print_disk(manifest: Path, scenes: int) -> None:
    """What a scene costs on disk: each catalog table with its indexes and TOAST."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t, pg_total_relation_size(t::regclass) FROM unnest(%s::text[]) t",
            [list(CATALOG_TABLES)],
        )
        sizes = dict(cursor.fetchall())
    total = sum(sizes.values())
    print(f"\n## Disk per scene ({scenes:,} scenes)")
    print("| table (with indexes) | MiB | bytes per scene |")
    print("|---|---|---|")
    for table, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"| {table} | {size / 2**20:,.0f} | {size / scenes:,.0f} |")
    print(f"| all | {total / 2**20:,.0f} | {total / scenes:,.0f} |")
    manifest_bytes = manifest.stat().st_size
    print(f"(the manifest: {manifest_bytes / scenes:,.0f} bytes per scene)")


if __name__ == "__main__":
    main()
