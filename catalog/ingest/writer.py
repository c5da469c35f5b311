"""Bulk upsert of parsed manifest lines: a handful of statements per batch, whatever its size.

- Unchanged scenes (same content hash) cost one index lookup and are not touched.
- New scenes, the bulk of a fresh manifest, are COPYed straight into catalog_scene under
  primary keys drawn from its sequence up front, so their signals and disengagements can
  be COPYed right after without a round trip per row.
- Changed scenes are COPYed into a temporary table and updated in place with one UPDATE
  (never deleted: embeddings and curated sets point at them).
- The GNSS gate's per-day figures and flags follow in the same transaction
  (catalog.quality_upkeep).

The caller holds the transaction. If a concurrent ingest inserts one of the same new
scenes first, the COPY fails on the unique scene_id and the whole batch rolls back;
`write_batch` is then simply run again, and sees that scene as existing.
"""

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection

from catalog import quality_upkeep
from catalog.ingest.parse import ParsedLine
from catalog.ingest.rows import DISENGAGEMENT_COLUMNS, SCENE_COLUMNS, SIGNALS_COLUMNS

BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)
# Columns an update rewrites: all but the key and the first-ingested time.
UPDATED_COLUMNS = tuple(c for c in SCENE_COLUMNS if c not in ("id", "ingested_at"))


@dataclass
class BatchResult:
    inserted: list[int] = field(default_factory=list)  # scene pks
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, scene, reason


def write_batch(lines: list[ParsedLine], manifest_uri: str) -> BatchResult:
    """Upsert one batch of lines with distinct scene ids (all or nothing per batch)."""
    result = BatchResult()
    with connection.cursor() as cursor:
        existing = _existing(cursor, [line.scene_id for line in lines])
        todo = [
            line
            for line in lines
            if line.scene_id not in existing or existing[line.scene_id][1] != line.content_sha256
        ]
        result.unchanged = len(lines) - len(todo)
        if not todo:
            return result
        owners = _owners(cursor, todo, result)
        todo = [line for line in todo if line.scene_id in owners]
        new = [line for line in todo if line.scene_id not in existing]
        changed = [line for line in todo if line.scene_id in existing]
        fresh = _allocate_ids(cursor, len(new))
        pks = dict(zip((line.scene_id for line in new), fresh, strict=True))
        pks.update((line.scene_id, existing[line.scene_id][0]) for line in changed)
        now = datetime.now(UTC).isoformat().encode()

        def scene_rows(part: list[ParsedLine]) -> bytes:
            return b"".join(
                b"%d\t%b\t%b\t%b" % (pks[line.scene_id], owners[line.scene_id], now, now)
                + line.scene
                for line in part
            )

        changed_pks = [pks[line.scene_id] for line in changed]
        # What the changed scenes counted for in the GNSS gate, before they change.
        previous = quality_upkeep.previous_contributions(cursor, changed_pks)
        if new:
            _copy(cursor, "catalog_scene", SCENE_COLUMNS, scene_rows(new))
        if changed:
            _update_scenes(cursor, scene_rows(changed), changed_pks)
        _copy_signals(cursor, todo, pks)
        disengagements = b"".join(
            b"%d%b" % (pks[line.scene_id], d) for line in todo for d in line.disengagements
        )
        _copy(cursor, "catalog_disengagement", DISENGAGEMENT_COLUMNS, disengagements)
        result.inserted = [pks[line.scene_id] for line in new]
        result.updated = changed_pks
        quality_upkeep.scenes_written(
            cursor, previous=previous, pks=result.inserted + result.updated
        )
    return result


def _existing(cursor, scene_ids: list[str]) -> dict[str, tuple[int, str]]:
    # One comma-joined string: psycopg quotes a list parameter element by element, which
    # cost more than the lookup. Scene ids never hold a comma (records.ID_PATTERN).
    cursor.execute(
        "SELECT scene_id, id, content_sha256 FROM catalog_scene "
        "WHERE scene_id = ANY(string_to_array(%s, ','))",
        [",".join(scene_ids)],
    )
    return {scene_id: (pk, sha) for scene_id, pk, sha in cursor.fetchall()}


def _owners(cursor, lines: list[ParsedLine], result: BatchResult) -> dict[str, bytes]:
    """scene_id -> b"<vehicle pk>\\t<drive pk or \\N>", creating vehicles and drives as
    needed. A drive belongs to the vehicle of its first line; lines that contradict an
    existing drive are rejected (added to `result`) and left out."""
    vehicles = sorted({line.vehicle_id for line in lines})
    cursor.execute(
        "INSERT INTO catalog_vehicle (vehicle_id, created_at) "
        "SELECT unnest(%s::varchar[]), now() ON CONFLICT DO NOTHING",
        [vehicles],
    )
    cursor.execute(
        "SELECT vehicle_id, id FROM catalog_vehicle WHERE vehicle_id = ANY(%s)", [vehicles]
    )
    vehicle_pk = dict(cursor.fetchall())
    first_owner: dict[str, int] = {}
    for line in sorted(lines, key=lambda line: line.line_no):
        if line.drive_id:
            first_owner.setdefault(line.drive_id, vehicle_pk[line.vehicle_id])
    drives: dict[str, tuple[int, int, str]] = {}
    if first_owner:
        cursor.execute(
            "INSERT INTO catalog_drive (drive_id, vehicle_id, created_at) "
            "SELECT d, v, now() FROM unnest(%s::varchar[], %s::bigint[]) AS x(d, v) "
            "ON CONFLICT DO NOTHING",
            [list(first_owner), list(first_owner.values())],
        )
        cursor.execute(
            "SELECT d.drive_id, d.id, d.vehicle_id, v.vehicle_id FROM catalog_drive d "
            "JOIN catalog_vehicle v ON v.id = d.vehicle_id WHERE d.drive_id = ANY(%s)",
            [list(first_owner)],
        )
        drives = {drive: (pk, owner_pk, owner) for drive, pk, owner_pk, owner in cursor.fetchall()}
    owners = {}
    for line in lines:
        vehicle = vehicle_pk[line.vehicle_id]
        drive = b"\\N"
        if line.drive_id:
            drive_pk, owner_pk, owner = drives[line.drive_id]
            if owner_pk != vehicle:
                reason = f"drive_id: {line.drive_id} belongs to vehicle {owner}"
                result.rejected.append((line.line_no, line.scene_id, reason))
                continue
            drive = b"%d" % drive_pk
        owners[line.scene_id] = b"%d\t%b" % (vehicle, drive)
    return owners


def _allocate_ids(cursor, count: int) -> list[int]:
    if not count:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('catalog_scene', 'id')) FROM generate_series(1, %s)",
        [count],
    )
    return [pk for (pk,) in cursor.fetchall()]


def _update_scenes(cursor, rows: bytes, pks: list[int]) -> None:
    columns = ", ".join(SCENE_COLUMNS)
    cursor.execute(
        f"CREATE TEMPORARY TABLE ingest_changed ON COMMIT DROP AS SELECT {columns} "
        "FROM catalog_scene WITH NO DATA"
    )
    _copy(cursor, "ingest_changed", SCENE_COLUMNS, rows)
    assignments = ", ".join(f"{c} = s.{c}" for c in UPDATED_COLUMNS)
    cursor.execute(
        f"UPDATE catalog_scene c SET {assignments} FROM ingest_changed s WHERE c.id = s.id"
    )
    cursor.execute("DROP TABLE ingest_changed")
    # Signals and disengagements of a changed scene are replaced whole.
    cursor.execute("DELETE FROM catalog_scenesignals WHERE scene_id = ANY(%s)", [pks])
    cursor.execute("DELETE FROM catalog_disengagement WHERE scene_id = ANY(%s)", [pks])


def _copy_signals(cursor, lines: list[ParsedLine], pks: dict[str, int]) -> None:
    parts = [BINARY_HEADER]
    for line in lines:
        if line.signals is not None:
            parts.append(_SIGNALS_ROW_HEAD.pack(len(SIGNALS_COLUMNS), 8, pks[line.scene_id]))
            parts.append(line.signals)
    if len(parts) > 1:
        parts.append(BINARY_TRAILER)
        # One join of the parts: ~6 KB of samples a scene, megabytes a batch.
        data = b"".join(parts)
        _copy(cursor, "catalog_scenesignals", SIGNALS_COLUMNS, data, binary=True)


_SIGNALS_ROW_HEAD = struct.Struct(">hiq")  # field count, then the 8-byte scene pk


def _copy(cursor, table: str, columns: tuple[str, ...], data: bytes, binary=False) -> None:
    if not data:
        return
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    statement += " (FORMAT BINARY)" if binary else ""
    # Raw psycopg COPY: wrapped so that errors surface as Django's (IntegrityError, ...).
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        copy.write(data)
