"""Parse, validate and format manifest lines, in worker processes when the manifest is big.

Decoding JSON and deriving attributes is pure CPU work in Python (~200 µs for a 20 s
scene with 10 Hz signals), so one process cannot feed PostgreSQL fast enough. Chunks of
raw lines go to a process pool; results come back in manifest order as COPY-ready bytes.
Workers never touch the database.
"""

import functools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from catalog.ingest.reader import Chunk, LineBlock
from catalog.ingest.records import RecordError, parse_records
from catalog.ingest.rows import disengagement_tails, scene_line_tail, signals_binary_tail


@dataclass(slots=True)
class ParsedLine:
    """A valid line, formatted for COPY (see catalog.ingest.rows for each part)."""

    line_no: int
    scene_id: str
    vehicle_id: str
    drive_id: str | None
    content_sha256: str
    scene: bytes
    signals: bytes | None
    disengagements: list[bytes]


@dataclass(slots=True)
class BadLine:
    line_no: int
    scene_id: str | None
    reason: str


def parse_chunk(chunk: Chunk, manifest_uri: str, tz_name: str) -> list:
    """Each line of the chunk as a ParsedLine or a BadLine, in order. Runs in a worker."""
    items = chunk.items() if isinstance(chunk, LineBlock) else chunk
    decoded = [_decode(raw) for _, raw in items]
    records = parse_records(
        [r for r in decoded if not isinstance(r, RecordError)],
        manifest_uri=manifest_uri,
        tz=_zone(tz_name),
    )
    parsed = iter(records)
    out: list[ParsedLine | BadLine] = []
    for (line_no, _), raw in zip(items, decoded, strict=True):
        rec = raw if isinstance(raw, RecordError) else next(parsed)
        if isinstance(rec, RecordError):
            scene_id = raw.get("scene_id") if isinstance(raw, dict) else None
            scene_id = scene_id if isinstance(scene_id, str) else None
            out.append(BadLine(line_no, scene_id, str(rec)))
            continue
        out.append(
            ParsedLine(
                line_no=line_no,
                scene_id=rec.scene_id,
                vehicle_id=rec.vehicle_id,
                drive_id=rec.drive_id,
                content_sha256=rec.content_sha256,
                scene=scene_line_tail(rec, manifest_uri),
                signals=signals_binary_tail(rec),
                disengagements=disengagement_tails(rec),
            )
        )
    return out


def _decode(raw: Any) -> Any:
    if isinstance(raw, bytes | bytearray):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return RecordError(f"not valid JSON: {exc}")
    return raw


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class ParsePool:
    """Maps parse_chunk over a stream of items, in order, with bounded memory.

    `workers <= 1` parses in this process. Worker processes are forked when the pool is
    entered, before the caller starts any thread, and only ever run parse_chunk.
    """

    def __init__(self, manifest_uri: str, tz_name: str, *, workers: int):
        self.manifest_uri, self.tz_name = manifest_uri, tz_name
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> "ParsePool":
        if self.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("fork")
            )
            # With fork, all workers start at the first submit: do it now, while this
            # process has no other threads whose locks a child could inherit held.
            self.executor.submit(os.getpid).result()
        return self

    def __exit__(self, *exc) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

    def parse(self, chunks: Iterable[Chunk]) -> Iterator[ParsedLine | BadLine]:
        if self.executor is None:
            for chunk in chunks:
                yield from parse_chunk(chunk, self.manifest_uri, self.tz_name)
            return
        # A few chunks in flight per worker keeps every core busy while the reader and
        # results stay a few megabytes.
        pending: deque[Future] = deque()
        for chunk in chunks:
            pending.append(
                self.executor.submit(parse_chunk, chunk, self.manifest_uri, self.tz_name)
            )
            if len(pending) >= 3 * self.workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
