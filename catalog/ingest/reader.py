"""Stream a manifest, JSON Lines (optionally gzipped) or Parquet, from anywhere
`catalog.storage` reaches, in chunks for the parse workers.

A JSON Lines chunk is a LineBlock: a few megabytes of whole lines, cut at a newline, with
the number of its first line. Splitting it into lines is left to the worker, so the
reading process never handles a line on its own. A Parquet chunk is a list of
`(row number, record)`. A line too long to be a scene is reported as a RecordError item
and skipped, and one bad line never stops the rest.

Bounds: a line holds at most MAX_LINE_BYTES (a 20 s scene with 10 Hz signals is ~11 KB,
an hour-long one ~3 MB); a whole manifest at most CATALOG_INGEST_MAX_MANIFEST_BYTES,
counted as read (after gunzip), so a manifest growing while read or a gzip bomb stops
there too.
"""

import gzip
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

from catalog import storage
from catalog.ingest.records import RecordError

MAX_LINE_BYTES = 4 * 1024 * 1024
READ_BYTES = 1 << 20
BLOCK_BYTES = 2 << 20  # ~200 scenes with 10 Hz signals
PARQUET_ROWS = 250
PARQUET_SUFFIXES = (".parquet", ".pq")
NEWLINE = ord("\n")
RawItem = tuple[int, Any]  # (line number, raw JSON bytes | decoded record | RecordError)


@dataclass(slots=True)
class LineBlock:
    first_line: int
    data: bytes

    def items(self) -> list[RawItem]:
        """The block's non-blank lines, numbered."""
        items: list[RawItem] = []
        for number, line in enumerate(self.data.split(b"\n"), start=self.first_line):
            if not line or line.isspace():
                continue
            if len(line) > MAX_LINE_BYTES:
                items.append((number, _too_long()))
            else:
                items.append((number, line))
        return items


Chunk = LineBlock | list[RawItem]


def _too_long() -> RecordError:
    return RecordError(f"line longer than {MAX_LINE_BYTES} bytes")


class ManifestError(storage.StorageError):
    """The manifest as a whole cannot be ingested (too large, not Parquet, not gzip).
    The message names no path: it may be shown to whoever started the ingest."""


@dataclass
class Manifest:
    uri: str
    format: str  # "jsonl" or "parquet"
    size_bytes: int | None


def open_manifest(uri: str) -> Manifest:
    lowered = uri.lower()
    fmt = "parquet" if lowered.endswith(PARQUET_SUFFIXES) else "jsonl"
    manifest = Manifest(uri=uri, format=fmt, size_bytes=storage.size(uri))
    if manifest.size_bytes > max_manifest_bytes():
        raise _too_large()
    return manifest


def max_manifest_bytes() -> int:
    return settings.CATALOG_INGEST_MAX_MANIFEST_BYTES


def _too_large() -> ManifestError:
    return ManifestError(f"manifest larger than {max_manifest_bytes()} bytes")


def iter_chunks(manifest: Manifest, on_bytes=None) -> Iterator[Chunk]:
    if manifest.format == "parquet":
        yield from _parquet_chunks(manifest.uri)
    else:
        yield from _jsonl_blocks(manifest.uri, on_bytes)


def _jsonl_blocks(uri: str, on_bytes) -> Iterator[Chunk]:
    with storage.open_read(uri) as raw:
        stream = gzip.GzipFile(fileobj=raw) if uri.lower().endswith(".gz") else raw
        first_line, pending, skipping = 1, b"", False
        limit, total = max_manifest_bytes(), 0
        while chunk := _read(stream, READ_BYTES):
            total += len(chunk)
            if total > limit:
                raise _too_large()
            if on_bytes:
                on_bytes(len(chunk))
            if skipping:  # the rest of a line already reported as too long
                newline = chunk.find(b"\n")
                if newline < 0:
                    continue
                chunk, skipping, first_line = chunk[newline + 1 :], False, first_line + 1
            pending += chunk
            if len(pending) < BLOCK_BYTES:
                continue
            cut = pending.rfind(b"\n") + 1
            if cut:
                block, pending = pending[:cut], pending[cut:]
                yield LineBlock(first_line, block)
                first_line += _count_newlines(block)
            elif len(pending) > MAX_LINE_BYTES:
                yield [(first_line, _too_long())]
                pending, skipping = b"", True
        if pending and not skipping:
            yield LineBlock(first_line, pending)


def _read(stream, size: int) -> bytes:
    try:
        return stream.read(size)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        if isinstance(exc, storage.StorageError):
            raise
        raise ManifestError(f"manifest cannot be read: {exc}") from exc


def _count_newlines(block: bytes) -> int:
    # bytes.count scans a byte at a time: ~2 ms per block, in the one process that feeds
    # every parse worker. numpy compares the whole block at once.
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == NEWLINE))


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


def _parquet_chunks(uri: str) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    # Parquet needs random access: S3 objects are spooled to a local temporary file.
    with tempfile.TemporaryFile() as local:
        limit, total = max_manifest_bytes(), 0
        for chunk in storage.iter_chunks(uri):
            total += len(chunk)
            if total > limit:
                raise _too_large()
            local.write(chunk)
        local.seek(0)
        try:
            parquet = pq.ParquetFile(local)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise ManifestError(f"manifest cannot be read as Parquet: {exc}") from exc
        number = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_ROWS):
            rows = []
            for row in batch.to_pylist():
                number += 1
                record = {k: _plain(v) for k, v in row.items()}
                if isinstance(record.get("extra"), list) and not record["extra"]:
                    record["extra"] = {}
                rows.append((number, record))
            yield rows
