"""Bulk upsert of validated scene records: COPY into a temporary staging table, then
INSERT ... ON CONFLICT (scene_id) so a batch costs a handful of statements whatever its
size. An unchanged scene (same content hash) is not touched at all."""

from dataclasses import dataclass, field

import orjson
from django.db import connection

from catalog.ingest.records import SceneRecord

STAGE_COLUMNS = (
    ("line_no", "integer"),
    ("scene_id", "varchar(200)"),
    ("vehicle_key", "varchar(64)"),
    ("drive_key", "varchar(128)"),
    ("start_time", "timestamptz"),
    ("end_time", "timestamptz"),
    ("duration_s", "float8"),
    ("local_hour", "smallint"),
    ("cameras", "jsonb"),
    ("tags", "varchar(64)[]"),
    ("extra", "jsonb"),
    ("manifest_uri", "text"),
    ("content_sha256", "varchar(64)"),
    ("max_speed_mps", "float8"),
    ("mean_speed_mps", "float8"),
    ("max_decel_mps2", "float8"),
    ("gnss_fix_rate", "float8"),
    ("start_lat", "float8"),
    ("start_lon", "float8"),
    ("end_lat", "float8"),
    ("end_lon", "float8"),
    ("min_lat", "float8"),
    ("max_lat", "float8"),
    ("min_lon", "float8"),
    ("max_lon", "float8"),
    ("track_lat", "float8[]"),
    ("track_lon", "float8[]"),
    ("signals_hz", "float8"),
    ("signals_samples", "integer"),
    ("signals_channels", "varchar(32)[]"),
    ("signals_data", "bytea"),
    ("disengagements", "jsonb"),
)
SCENE_COLUMNS = (
    "start_time", "end_time", "duration_s", "local_hour", "cameras", "tags", "extra",
    "manifest_uri", "content_sha256", "max_speed_mps", "mean_speed_mps", "max_decel_mps2",
    "gnss_fix_rate", "start_lat", "start_lon", "end_lat", "end_lon", "min_lat", "max_lat",
    "min_lon", "max_lon",
)  # fmt: skip


@dataclass
class BatchResult:
    inserted: list[int] = field(default_factory=list)  # scene pks
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, scene, reason


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _float_array(values: list[float] | None) -> str:
    # Array literals built directly: psycopg's generic list adapter is the slowest part
    # of a COPY row otherwise, and these are plain finite floats.
    return "{" + ",".join(map(repr, values or ())) + "}"


def _row(line_no: int, rec: SceneRecord, manifest_uri: str) -> tuple:
    return (
        line_no, rec.scene_id, rec.vehicle_id, rec.drive_id, rec.start_time, rec.end_time,
        rec.duration_s, rec.local_hour, _json(rec.cameras), rec.tags, _json(rec.extra),
        manifest_uri, rec.content_sha256, rec.max_speed_mps, rec.mean_speed_mps,
        rec.max_decel_mps2, rec.gnss_fix_rate, rec.start_lat, rec.start_lon, rec.end_lat,
        rec.end_lon, rec.min_lat, rec.max_lat, rec.min_lon, rec.max_lon,
        _float_array(rec.track_lat), _float_array(rec.track_lon), rec.signals_hz,
        rec.signals_samples, rec.signals_channels, rec.signals_data,
        _json(rec.disengagements or []),
    )  # fmt: skip


def write_batch(records: list[tuple[int, SceneRecord]], manifest_uri: str) -> BatchResult:
    """Upsert one batch; the caller holds the transaction (all or nothing per batch)."""
    result = BatchResult()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage ("
            + ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE ingest_stage")
        names = ", ".join(name for name, _ in STAGE_COLUMNS)
        with cursor.cursor.copy(f"COPY ingest_stage ({names}) FROM STDIN") as copy:
            for line_no, rec in records:
                copy.write_row(_row(line_no, rec, manifest_uri))

        cursor.execute(
            "INSERT INTO catalog_vehicle (vehicle_id, created_at) "
            "SELECT DISTINCT vehicle_key, now() FROM ingest_stage ON CONFLICT DO NOTHING"
        )
        cursor.execute(
            "INSERT INTO catalog_drive (drive_id, vehicle_id, created_at) "
            "SELECT DISTINCT ON (s.drive_key) s.drive_key, v.id, now() FROM ingest_stage s "
            "JOIN catalog_vehicle v ON v.vehicle_id = s.vehicle_key "
            "WHERE s.drive_key IS NOT NULL ORDER BY s.drive_key, s.line_no "
            "ON CONFLICT DO NOTHING"
        )
        # A drive belongs to one vehicle: lines that contradict it are rejected.
        cursor.execute(
            "DELETE FROM ingest_stage s USING catalog_drive d, catalog_vehicle v "
            "WHERE d.drive_id = s.drive_key AND v.id = d.vehicle_id "
            "AND v.vehicle_id <> s.vehicle_key "
            "RETURNING s.line_no, s.scene_id, s.drive_key, v.vehicle_id"
        )
        for line_no, scene_id, drive, owner in cursor.fetchall():
            result.rejected.append(
                (line_no, scene_id, f"drive_id: {drive} belongs to vehicle {owner}")
            )

        columns = ", ".join(SCENE_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in SCENE_COLUMNS)
        cursor.execute(
            f"INSERT INTO catalog_scene (scene_id, vehicle_id, drive_id, {columns}, "
            "track_lat, track_lon, disengagement_count, ingested_at, updated_at) "
            f"SELECT s.scene_id, v.id, d.id, {', '.join('s.' + c for c in SCENE_COLUMNS)}, "
            "s.track_lat, s.track_lon, jsonb_array_length(s.disengagements), now(), now() "
            "FROM ingest_stage s JOIN catalog_vehicle v ON v.vehicle_id = s.vehicle_key "
            "LEFT JOIN catalog_drive d ON d.drive_id = s.drive_key "
            f"ON CONFLICT (scene_id) DO UPDATE SET vehicle_id = EXCLUDED.vehicle_id, "
            f"drive_id = EXCLUDED.drive_id, {updates}, track_lat = EXCLUDED.track_lat, "
            "track_lon = EXCLUDED.track_lon, "
            "disengagement_count = EXCLUDED.disengagement_count, updated_at = now() "
            "WHERE catalog_scene.content_sha256 <> EXCLUDED.content_sha256 "
            "RETURNING id, (xmax = 0)"
        )
        for pk, inserted in cursor.fetchall():
            (result.inserted if inserted else result.updated).append(pk)
        changed = result.inserted + result.updated
        result.unchanged = len(records) - len(result.rejected) - len(changed)
        if not changed:
            return result

        cursor.execute("DELETE FROM catalog_scenesignals WHERE scene_id = ANY(%s)", [changed])
        cursor.execute("DELETE FROM catalog_disengagement WHERE scene_id = ANY(%s)", [changed])
        cursor.execute(
            "INSERT INTO catalog_scenesignals (scene_id, hz, samples, channels, data) "
            "SELECT c.id, s.signals_hz, s.signals_samples, s.signals_channels, s.signals_data "
            "FROM ingest_stage s JOIN catalog_scene c ON c.scene_id = s.scene_id "
            "WHERE c.id = ANY(%s) AND s.signals_hz IS NOT NULL",
            [changed],
        )
        cursor.execute(
            "INSERT INTO catalog_disengagement (scene_id, t_s, kind) "
            "SELECT c.id, (d->>'t_s')::float8, d->>'kind' "
            "FROM ingest_stage s JOIN catalog_scene c ON c.scene_id = s.scene_id "
            "CROSS JOIN LATERAL jsonb_array_elements(s.disengagements) d "
            "WHERE c.id = ANY(%s)",
            [changed],
        )
    return result
