"""Stream manifest records from JSON Lines (optionally gzipped) or Parquet, anywhere
`catalog.storage` reaches. Yields `(line_number, item)` where item is a JSON line's raw
bytes, a decoded Parquet row, or a RecordError, so one bad line never stops the rest."""

import gzip
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from catalog import storage
from catalog.ingest.records import RecordError

MAX_LINE_BYTES = 16 * 1024 * 1024
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class Manifest:
    uri: str
    format: str  # "jsonl" or "parquet"
    size_bytes: int | None


def open_manifest(uri: str) -> Manifest:
    lowered = uri.lower()
    fmt = "parquet" if lowered.endswith(PARQUET_SUFFIXES) else "jsonl"
    try:
        size = storage.size(uri)
    except storage.StorageError:
        raise
    return Manifest(uri=uri, format=fmt, size_bytes=size)


def iter_records(manifest: Manifest, on_bytes=None) -> Iterator[tuple[int, Any]]:
    if manifest.format == "parquet":
        yield from _iter_parquet(manifest.uri)
    else:
        yield from _iter_jsonl(manifest.uri, on_bytes)


def _iter_lines(stream, on_bytes) -> Iterator[bytes]:
    pending = b""
    while chunk := stream.read(1 << 20):
        if on_bytes:
            on_bytes(len(chunk))
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from lines
        if len(pending) > MAX_LINE_BYTES:
            yield pending  # reported as too long below, then the rest of it is skipped
            pending = b""
    if pending:
        yield pending


def _iter_jsonl(uri: str, on_bytes) -> Iterator[tuple[int, Any]]:
    with storage.open_read(uri) as raw:
        stream = gzip.GzipFile(fileobj=raw) if uri.lower().endswith(".gz") else raw
        for number, line in enumerate(_iter_lines(stream, on_bytes), start=1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE_BYTES:
                yield number, RecordError(f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            yield number, line  # decoded where it is validated, in a parse worker


def _plain(value: Any) -> Any:
    """Parquet maps arrive from pyarrow as lists of (key, value) pairs."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, tuple) and len(v) == 2 for v in value)
    ):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def _iter_parquet(uri: str) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    # Parquet needs random access: S3 objects are spooled to a local temporary file.
    with tempfile.TemporaryFile() as local:
        for chunk in storage.iter_chunks(uri):
            local.write(chunk)
        local.seek(0)
        try:
            parquet = pq.ParquetFile(local)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise storage.StorageError(f"cannot read {uri} as Parquet: {exc}") from exc
        number = 0
        for batch in parquet.iter_batches(batch_size=2000):
            for row in batch.to_pylist():
                number += 1
                record = {k: _plain(v) for k, v in row.items()}
                if isinstance(record.get("extra"), list) and not record["extra"]:
                    record["extra"] = {}
                yield number, record
