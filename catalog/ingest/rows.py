"""A validated record as ready-made PostgreSQL COPY data.

Formatting happens where the record was parsed (in the parse worker processes), so the
process that talks to the database only concatenates bytes. psycopg's per-value adapters
cost more than parsing the JSON did; these columns are few and their types are known.
"""

import functools
import struct

import orjson

from catalog.ingest.records import SceneRecord

# Columns of a catalog_scene COPY line. The first five are filled in by the writer (they
# are known only there); the rest come from the parse worker as one pre-formatted tail.
SCENE_COLUMNS = (
    "id", "vehicle_id", "drive_id", "ingested_at", "updated_at",
    "scene_id", "start_time", "end_time", "duration_s", "local_hour", "cameras", "tags",
    "extra", "manifest_uri", "content_sha256", "max_speed_mps", "mean_speed_mps",
    "max_decel_mps2", "gnss_fix_rate", "start_lat", "start_lon", "end_lat", "end_lon",
    "min_lat", "max_lat", "min_lon", "max_lon", "track_lat", "track_lon", "track_cells",
    "disengagement_count",
)  # fmt: skip
SIGNALS_COLUMNS = ("scene_id", "hz", "samples", "channels", "data")
DISENGAGEMENT_COLUMNS = ("scene_id", "t_s", "kind")
VARCHAR_OID = 1043

NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str | None) -> str:
    """A text value escaped for COPY's text format (NULL for None)."""
    if value is None:
        return NULL
    return value.translate(_COPY_ESCAPES)


def copy_json(value) -> str:
    # orjson escapes control characters inside strings, so only backslashes need doubling.
    return orjson.dumps(value).decode().replace("\\", "\\\\")


def float_array(values: list[float] | None) -> str:
    # orjson writes the same shortest round-trip digits as repr(), several times faster.
    return "{" + orjson.dumps(values or [])[1:-1].decode() + "}"


def int_array(values: list[int] | None) -> str:
    return "{" + ",".join(map(str, values or ())) + "}"


def text_array(values: list[str]) -> str:
    """An array literal whose elements are always quoted, so commas, braces, quotes and
    the word NULL inside a tag stay text."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return copy_text("{" + ",".join(quoted) + "}")


def scene_line_tail(rec: SceneRecord, manifest_uri: str) -> bytes:
    """A catalog_scene COPY line from `scene_id` on (see SCENE_COLUMNS)."""
    # One orjson call spells all the nullable floats (shortest round-trip digits, null).
    numbers = (
        orjson.dumps([
            rec.max_speed_mps, rec.mean_speed_mps, rec.max_decel_mps2, rec.gnss_fix_rate,
            rec.start_lat, rec.start_lon, rec.end_lat, rec.end_lon,
            rec.min_lat, rec.max_lat, rec.min_lon, rec.max_lon,
        ])[1:-1]
        .replace(b",", b"\t")
        .replace(b"null", b"\\N")
        .decode()
    )  # fmt: skip
    return (
        f"\t{rec.scene_id}\t{rec.start_time.isoformat()}\t{rec.end_time.isoformat()}"
        f"\t{rec.duration_s!r}\t{rec.local_hour}\t{copy_json(rec.cameras)}"
        f"\t{text_array(rec.tags)}\t{copy_json(rec.extra)}\t{_copy_uri(manifest_uri)}"
        f"\t{rec.content_sha256}\t{numbers}\t{float_array(rec.track_lat)}"
        f"\t{float_array(rec.track_lon)}\t{int_array(rec.track_cells)}"
        f"\t{len(rec.disengagements or ())}\n"
    ).encode()


@functools.lru_cache(maxsize=16)
def _copy_uri(uri: str) -> str:
    return copy_text(uri)


def signals_binary_tail(rec: SceneRecord) -> bytes | None:
    """A catalog_scenesignals row in COPY BINARY format without its leading field count
    and scene pk (known only to the writer); None when the record has no signals. Binary
    because the text format would spell the 6 KB of samples as 13 KB of hex for the
    server to decode again."""
    if rec.signals_data is None:
        return None
    data = rec.signals_data
    return b"".join((
        struct.pack(">idii", 8, rec.signals_hz, 4, rec.signals_samples),
        _channels_field(tuple(rec.signals_channels or ())),
        struct.pack(">i", len(data)), data,
    ))  # fmt: skip


@functools.lru_cache(maxsize=256)
def _channels_field(names: tuple[str, ...]) -> bytes:
    """A varchar[] field in binary: length, then dims, null flag, element type, elements."""
    encoded = [name.encode() for name in names]
    array = struct.pack(">iiiii", 1, 0, VARCHAR_OID, len(encoded), 1) + b"".join(
        struct.pack(">i", len(name)) + name for name in encoded
    )
    return struct.pack(">i", len(array)) + array


def disengagement_tails(rec: SceneRecord) -> list[bytes]:
    return [f"\t{d['t_s']!r}\t{copy_text(d['kind'])}\n".encode() for d in rec.disengagements or ()]
