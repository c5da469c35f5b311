"""The manifest of a frozen version: one row per scene, in jsonl, csv or parquet.

All three formats carry the same columns (`columns(schema)`), in the same order, and are
produced as a stream of byte chunks read through a server-side cursor, so a 100,000-scene
version never sits whole in memory. The jsonl bytes are canonical: `scene_set_freeze`
hashes exactly what `iter_manifest(version, "jsonl")` yields, so a download always
hashes to the version's sha256.

- jsonl: one compact JSON object per line (UTF-8, keys in `COLUMNS` order, `cameras` keys
  sorted, times RFC 3339 UTC with `Z`, NaN written as null).
- csv: a header row, then the same values; `cameras` and `tags` are JSON text cells and
  null is an empty cell.
- parquet: typed columns (`cameras` map<string, string>, `tags` list<string>, times
  timestamp[us, UTC]), one row group per `ROW_GROUP_ROWS` rows.

Columns depend on the version's `manifest_schema`, so a frozen version keeps its bytes
whatever the exporter learns later: schema 1 is the first release's `COLUMNS`; schema 2
appends `label` (the item's label, "" when none).

`presign_s` adds one column at the end, `camera_urls` (camera name -> HTTPS URL valid for
that many seconds, for `s3://` cameras only). It is not part of the canonical manifest:
a presigned download has different bytes every time and does not hash to sha256.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import JsonbLoader, set_json_loads

from catalog import storage
from curation.models import SceneSetVersion

FORMATS = ("jsonl", "csv", "parquet")
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
# Presigned S3 URLs (SigV4) live at most 7 days.
MAX_PRESIGN_S = 7 * 24 * 3600

CHUNK_ROWS = 2000  # rows fetched per round trip of the server-side cursor
ROW_GROUP_ROWS = 10_000
_FLUSH_BYTES = 256 * 1024

_STRING = pa.string()
_FLOAT = pa.float64()
_MAP = pa.map_(pa.string(), pa.string())
_TIME = pa.timestamp("us", tz="UTC")

# Manifest schema 1: (column, parquet type). Version item fields carry the same names.
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("scene_id", _STRING),
    ("vehicle_id", _STRING),
    ("drive_id", _STRING),
    ("start_time", _TIME),
    ("end_time", _TIME),
    ("duration_s", _FLOAT),
    ("t_start_s", _FLOAT),
    ("t_end_s", _FLOAT),
    ("note", _STRING),
    ("cameras", _MAP),
    ("tags", pa.list_(pa.string())),
    ("local_hour", pa.int16()),
    ("max_speed_mps", _FLOAT),
    ("mean_speed_mps", _FLOAT),
    ("max_decel_mps2", _FLOAT),
    ("gnss_fix_rate", _FLOAT),
    ("disengagement_count", pa.int32()),
    ("start_lat", _FLOAT),
    ("start_lon", _FLOAT),
    ("end_lat", _FLOAT),
    ("end_lon", _FLOAT),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
# Manifest schema 2: schema 1 plus the item's label.
COLUMNS_V2 = (*COLUMNS, ("label", _STRING))
_SCHEMAS = {1: COLUMNS, 2: COLUMNS_V2}
PRESIGN_COLUMN = ("camera_urls", _MAP)
_FLOAT_COLUMNS = frozenset(name for name, kind in COLUMNS_V2 if kind == _FLOAT)


def columns(schema: int) -> tuple[tuple[str, pa.DataType], ...]:
    """The (column, parquet type) list of a manifest schema."""
    if schema not in _SCHEMAS:
        raise ValueError(f"manifest schema {schema} is not known here")
    return _SCHEMAS[schema]


def column_names(schema: int) -> tuple[str, ...]:
    return tuple(name for name, _ in columns(schema))


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

Row = dict  # column name -> Python value (datetime, float, dict, list, ...)


def _select_expression(name: str) -> str:
    # JSON has no NaN or infinity: every format says "unknown" (null) the same way.
    if name in _FLOAT_COLUMNS:
        return f"NULLIF(NULLIF(NULLIF({name}, 'NaN'), 'Infinity'), '-Infinity') AS {name}"
    return name


def _select_page(names: tuple[str, ...]) -> str:
    return f"""
        SELECT position, {", ".join(map(_select_expression, names))}
        FROM curation_scenesetversionitem
        WHERE version_id = %s AND position > %s ORDER BY position LIMIT %s
    """


def _use_native_loaders(cursor) -> None:
    """psycopg's C loaders for timestamptz and jsonb on this cursor only. Django installs
    Python-level ones for the ORM (several times slower per value, which dominates
    reading 10^5 rows); rows here are read by this module alone."""
    raw = cursor.cursor
    raw.adapters.register_loader("timestamptz", TimestamptzLoader)
    raw.adapters.register_loader("jsonb", JsonbLoader)
    set_json_loads(orjson.loads, raw)


def _pages(version_id: int, names: tuple[str, ...]) -> Iterator[list[tuple]]:
    """Keyset pages over (version_id, position): version rows are immutable, so separate
    short queries read a consistent manifest without holding a cursor or transaction
    open for the length of a download."""
    last = 0
    sql = _select_page(names)
    with connection.cursor() as cursor:
        _use_native_loaders(cursor)
        while True:
            cursor.execute(sql, [version_id, last, CHUNK_ROWS])
            page = cursor.fetchall()
            if not page:
                return
            yield page
            last = page[-1][0]


def iter_rows(version: SceneSetVersion, *, presign_s: int | None = None) -> Iterator[Row]:
    """The version's rows in manifest order (its schema's columns), fetched `CHUNK_ROWS`
    at a time."""
    names = column_names(version.manifest_schema)
    for page in _pages(version.pk, names):
        for item in page:
            row = dict(zip(names, item[1:], strict=True))
            row["cameras"] = dict(sorted(row["cameras"].items()))
            if presign_s is not None:
                row["camera_urls"] = camera_urls(row["cameras"], presign_s)
            yield row


def camera_urls(cameras: dict[str, str], expires_s: int) -> dict[str, str]:
    return {
        name: storage.presign(uri, expires_s) for name, uri in cameras.items() if storage.is_s3(uri)
    }


def _time_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _with_time_text(row: Row) -> Row:
    return {
        **row,
        "start_time": _time_text(row["start_time"]),
        "end_time": _time_text(row["end_time"]),
    }


def jsonl_line(row: Row) -> str:
    """One canonical manifest line (the single definition the sha256 depends on)."""
    return _json.encode(_with_time_text(row))


def iter_jsonl(rows: Iterable[Row]) -> Iterator[bytes]:
    return _buffered(f"{jsonl_line(row)}\n" for row in rows)


def iter_csv(rows: Iterable[Row], *, schema: int, presign: bool = False) -> Iterator[bytes]:
    names = [*column_names(schema), *([PRESIGN_COLUMN[0]] if presign else [])]
    nested = ["cameras", "tags", *([PRESIGN_COLUMN[0]] if presign else [])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # writes None as an empty cell

    def lines() -> Iterator[str]:
        writer.writerow(names)
        for count, row in enumerate(rows, 1):
            cells = _with_time_text(row)
            for name in nested:
                cells[name] = _json.encode(cells[name])
            writer.writerow([cells[name] for name in names])
            if count % 256 == 0:
                yield _take(buffer)
        yield _take(buffer)

    return _buffered(lines())


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _buffered(pieces: Iterable[str]) -> Iterator[bytes]:
    """Join small strings into chunks of about `_FLUSH_BYTES` (fewer, larger writes)."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= _FLUSH_BYTES:
            yield "".join(batch).encode()
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode()


class _ChunkSink:
    """A write-only file for pyarrow that hands back what was written since last taken,
    so parquet goes out row group by row group instead of through a whole-file buffer."""

    closed = False

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data) -> int:
        data = bytes(data)
        self._chunks.append(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks = []
        return data


def iter_parquet(rows: Iterable[Row], *, schema: int, presign: bool = False) -> Iterator[bytes]:
    kinds = [*columns(schema), *([PRESIGN_COLUMN] if presign else [])]
    arrow_schema = pa.schema([pa.field(name, kind) for name, kind in kinds])
    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, arrow_schema, compression="zstd")
    batch: list[Row] = []
    try:
        for row in rows:
            batch.append(row)
            if len(batch) >= ROW_GROUP_ROWS:
                writer.write_table(_table(batch, arrow_schema))
                batch = []
                yield sink.take()
        if batch:
            writer.write_table(_table(batch, arrow_schema))
    finally:
        writer.close()
    yield sink.take()


def _table(batch: list[Row], schema: pa.Schema) -> pa.Table:
    return pa.table({name: [row[name] for row in batch] for name in schema.names}, schema=schema)


_WRITERS: dict[str, Callable[..., Iterator[bytes]]] = {
    "jsonl": lambda rows, schema, presign: iter_jsonl(rows),
    "csv": lambda rows, schema, presign: iter_csv(rows, schema=schema, presign=presign),
    "parquet": lambda rows, schema, presign: iter_parquet(rows, schema=schema, presign=presign),
}


def iter_manifest(
    version: SceneSetVersion, fmt: str, *, presign_s: int | None = None
) -> Iterator[bytes]:
    """The manifest as byte chunks; `fmt` is one of `FORMATS` (checked by the caller)."""
    rows = iter_rows(version, presign_s=presign_s)
    return _WRITERS[fmt](rows, version.manifest_schema, presign_s is not None)


def filename(version: SceneSetVersion, fmt: str) -> str:
    return f"sceneset-{version.scene_set_id}-v{version.number}.{fmt}"
