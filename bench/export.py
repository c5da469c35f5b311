"""Freeze a 100,000-scene set and stream its manifest in each format.

Arms, measured side by side in one run against the same frozen version (database
`bench_export` on the embedded server):
  freeze           POST sets/<id>/versions/?confirm=true (copy rows, hash jsonl, seal)
  jsonl/csv/parquet  GET .../manifest?format=...&confirm=true through the API, consumed
                   chunk by chunk as an HTTP client would (written to .bench/, verified)
  baseline         the naive way: all rows in a list, one pyarrow table, one write
  presign          jsonl with ?presign=3600 (7 S3 cameras per scene) on a smaller version
Each row reports wall seconds, CPU seconds of this process and of its PostgreSQL backend
(on a shared machine their sum is what the phase costs without waiting for a CPU), and
the process's peak RSS during the phase (VmHWM, reset before each phase through
/proc/self/clear_refs). Goal: <= 10 s and <= 500 MB per format.

    .venv/bin/python bench/export.py [--scenes 100000] [--presign-scenes 2000] [--quick]
"""

import argparse
import hashlib
import io
import json
import os
import re
import resource
import sys
import time
from datetime import UTC, datetime, timedelta

from common import WORK_DIR, Timer, reset_tables, setup_django

CAMERAS = ["front_wide", "front_narrow", "front_left", "front_right", "rear", "left", "right"]
TAGS = [["rain"], ["night", "urban"], ["highway"], [], ["pedestrians", "crossing"]]
VEHICLES = 20


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(re.search(rf"{field}:\s+(\d+)", status.read()).group(1))


def reset_peak() -> int:
    """Start a new peak-RSS window; returns the current RSS in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass  # peak stays process-wide; still an upper bound
    return _status_kb("VmRSS") // 1024


def cpu_seconds() -> float:
    """CPU time of this process (the database server's work is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def db_cpu_seconds() -> tuple[int, float]:
    """(pid, CPU seconds) of this connection's PostgreSQL backend process: with the
    client's CPU time, what the phase costs when it does not wait for a shared CPU."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:  # server on another machine
        return pid, float("nan")


def peak_mb() -> int:
    return _status_kb("VmHWM") // 1024


def insert_scenes(count: int, prefix: str) -> None:
    """COPY `count` synthetic scenes (7 S3 cameras each) straight into catalog_scene."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    from catalog.models import Drive, Vehicle

    vehicles = [
        Vehicle.objects.get_or_create(vehicle_id=f"veh-{n:02d}")[0] for n in range(VEHICLES)
    ]
    drives = [
        Drive.objects.get_or_create(drive_id=f"{v.vehicle_id}_d", vehicle=v)[0] for v in vehicles
    ]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    columns = (
        "scene_id, vehicle_id, drive_id, start_time, end_time, duration_s, local_hour, cameras, "
        "tags, extra, manifest_uri, content_sha256, max_speed_mps, mean_speed_mps, "
        "max_decel_mps2, gnss_fix_rate, disengagement_count, start_lat, start_lon, end_lat, "
        "end_lon, min_lat, max_lat, min_lon, max_lon, track_lat, track_lon, ingested_at, "
        "updated_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY catalog_scene ({columns}) FROM STDIN") as copy,
    ):
        for n in range(count):
            v = n % VEHICLES
            scene_id = f"{prefix}veh-{v:02d}_{n:07d}"
            t0 = start + timedelta(seconds=20 * n)
            lat, lon = 35.58 + (n % 997) * 1e-4, 139.74 + (n % 991) * 1e-4
            copy.write_row((
                scene_id, vehicles[v].pk, drives[v].pk, t0, t0 + timedelta(seconds=20), 20.0,
                (t0.hour + 9) % 24,
                Jsonb({c: f"s3://fleet-bench/{scene_id}/{c}.mp4" for c in CAMERAS}),
                TAGS[n % len(TAGS)], Jsonb({}), "s3://fleet-bench/manifest.jsonl",
                hashlib.sha256(scene_id.encode()).hexdigest(), 10 + n % 20, 8.5, 1.25,
                0.98, n % 3, lat, lon, lat + 1e-3, lon + 1e-3, lat, lat + 1e-3, lon,
                lon + 1e-3, [lat, lat + 1e-3], [lon, lon + 1e-3], now, now,
            ))  # fmt: skip


def build_set(api, name: str, prefix: str) -> int:
    """A set holding every scene with `prefix`, added through the API 10,000 ids at a time."""
    from catalog.models import Scene
    from curation.limits import MAX_SCENE_IDS_PER_REQUEST

    set_id = api.post("/api/v1/sets/", {"name": name}, format="json").json()["id"]
    ids = list(
        Scene.objects.filter(scene_id__startswith=prefix)
        .order_by("scene_id")
        .values_list("scene_id", flat=True)
    )
    for at in range(0, len(ids), MAX_SCENE_IDS_PER_REQUEST):
        batch = ids[at : at + MAX_SCENE_IDS_PER_REQUEST]
        response = api.post(f"/api/v1/sets/{set_id}/items/", {"scene_ids": batch}, format="json")
        assert response.status_code == 200, response.content
    return set_id


def freeze(api, set_id: int) -> dict:
    response = api.post(f"/api/v1/sets/{set_id}/versions/?confirm=true", {}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def download(api, set_id: int, fmt: str, extra: str = "") -> tuple[int, str]:
    """Stream the manifest to a file under .bench/ as a client would; (bytes, path)."""
    url = f"/api/v1/sets/{set_id}/versions/1/manifest?format={fmt}&confirm=true{extra}"
    response = api.get(url)
    assert response.status_code == 200, response.content
    path = WORK_DIR / f"export-manifest.{fmt}"
    size = 0
    with path.open("wb") as out:
        for chunk in response.streaming_content:
            size += len(chunk)
            out.write(chunk)
    response.close()
    return size, str(path)


def verify(fmt: str, path: str, version: dict) -> str:
    import pyarrow.parquet as pq

    if fmt == "jsonl":
        digest = hashlib.sha256()
        with open(path, "rb") as data:
            while chunk := data.read(1 << 20):
                digest.update(chunk)
        return "sha256 ok" if digest.hexdigest() == version["sha256"] else "SHA MISMATCH"
    if fmt == "csv":
        with open(path, "rb") as data:
            rows = sum(1 for _ in data) - 1
    else:
        meta = pq.ParquetFile(path).metadata
        rows = meta.num_rows
        return f"{rows:,} rows, {meta.num_row_groups} row groups" + (
            "" if rows == version["count"] else " COUNT MISMATCH"
        )
    return f"{rows:,} rows" + ("" if rows == version["count"] else " COUNT MISMATCH")


def naive_parquet(set_id: int) -> int:
    """Baseline: every row in memory, one table, one write."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation import manifest, selectors

    version = selectors.version_get(scene_set_id=set_id, number=1)
    rows = list(manifest.iter_rows(version))
    table = pa.Table.from_pylist(rows, schema=pa.schema(manifest.columns(version.manifest_schema)))
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.tell()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--presign-scenes", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="10,000 scenes, 500 presigned")
    args = parser.parse_args()
    if args.quick:
        args.scenes, args.presign_scenes = 10_000, 500
    # Presigning is a local computation; it only needs some credentials to sign with.
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(name, value)
    # One database connection for the whole run, so its backend's CPU time can be read.
    os.environ.setdefault("CATALOG_DB_CONN_MAX_AGE", "3600")
    WORK_DIR.mkdir(exist_ok=True)
    load_before = f"{os.getloadavg()[0]:.2f}"
    setup_django("bench_export")
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    reset_tables("catalog_vehicle", "curation_sceneset", "auth_user")
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("bench"))

    rows: list[tuple] = []

    def phase(name: str, count: int, fn):
        before = reset_peak()
        pid, db_cpu = db_cpu_seconds()
        cpu = cpu_seconds()
        with Timer() as timer:
            result = fn()
        cpu = cpu_seconds() - cpu
        pid_after, db_cpu_after = db_cpu_seconds()
        db = db_cpu_after - db_cpu if pid_after == pid else float("nan")
        rows.append((name, count, timer.seconds, cpu, db, before, peak_mb(), result))
        return result

    phase("insert scenes (COPY)", args.scenes, lambda: insert_scenes(args.scenes, "b-") or "")
    set_id = phase("add to set (API, 10k ids/request)", args.scenes,
                   lambda: build_set(api, "bench", "b-"))  # fmt: skip
    rows[-1] = (*rows[-1][:7], "")
    version = phase("freeze (API)", args.scenes, lambda: freeze(api, set_id))
    rows[-1] = (*rows[-1][:7], f"sha256 {version['sha256'][:12]}..")
    for fmt in ("jsonl", "csv", "parquet"):
        size, path = phase(f"manifest {fmt} (API stream)", args.scenes,
                           lambda fmt=fmt: download(api, set_id, fmt))  # fmt: skip
        rows[-1] = (*rows[-1][:7], f"{size / 1e6:,.1f} MB, {verify(fmt, path, version)}")
        os.unlink(path)
    size = phase("baseline parquet, all rows in memory", args.scenes,
                 lambda: naive_parquet(set_id))  # fmt: skip
    rows[-1] = (*rows[-1][:7], f"{size / 1e6:,.1f} MB")

    insert_scenes(args.presign_scenes, "p-")
    small = build_set(api, "bench-presign", "p-")
    freeze(api, small)
    size, path = phase(f"manifest jsonl + presign ({len(CAMERAS)} cams)", args.presign_scenes,
                       lambda: download(api, small, "jsonl", "&presign=3600"))  # fmt: skip
    with open(path) as data:
        urls = sum(len(json.loads(line)["camera_urls"]) for line in data)
    rows[-1] = (*rows[-1][:7], f"{urls:,} URLs")
    os.unlink(path)

    print(f"\nscene set export, {args.scenes:,} scenes ({time.strftime('%Y-%m-%d %H:%M')})")
    print(
        f"load average before {load_before}, after {os.getloadavg()[0]:.2f} "
        f"({os.cpu_count()} CPUs shared with other work)"
    )
    header = (
        "phase",
        "scenes",
        "seconds",
        "cpu s",
        "db cpu s",
        "scenes/s",
        "RSS before MB",
        "peak RSS MB",
        "notes",
    )
    table = [header] + [
        (
            n,
            f"{c:,}",
            f"{s:.2f}",
            f"{cpu:.2f}",
            f"{db:.2f}",
            f"{c / s:,.0f}",
            str(b),
            str(p),
            str(note),
        )
        for n, c, s, cpu, db, b, p, note in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
