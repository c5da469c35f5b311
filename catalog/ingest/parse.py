"""Parse, validate and format manifest lines, in worker processes when the manifest is big.

Decoding JSON and deriving attributes is pure CPU work in Python (~320-400 µs of a
worker's CPU for a 20 s scene with 10 Hz signals, measured), so one process cannot feed
PostgreSQL fast enough. Chunks of raw lines go to a process pool; results come back in
manifest order as COPY-ready bytes. Workers never touch the database.
"""

import functools
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import billiard
import orjson

from catalog.ingest.priority import yield_cpu
from catalog.ingest.reader import Chunk, LineBlock
from catalog.ingest.records import RecordError, parse_records
from catalog.ingest.rows import disengagement_tails, scene_line_tail, signals_binary_tail
from catalog.uris import OPERATOR, LocalAccess


class ParsedLine(NamedTuple):
    """A valid line, formatted for COPY (see catalog.ingest.rows for each part). A named
    tuple: thousands cross the process boundary per second, and tuples pickle in C."""

    line_no: int
    scene_id: str
    vehicle_id: str
    drive_id: str | None
    content_sha256: str
    scene: bytes
    signals: bytes | None
    disengagements: list[bytes]


class BadLine(NamedTuple):
    line_no: int
    scene_id: str | None
    reason: str


def parse_chunk(chunk: Chunk, manifest_uri: str, tz_name: str, access: LocalAccess) -> list:
    """Each line of the chunk as a ParsedLine or a BadLine, in order. Runs in a worker."""
    items = chunk.items() if isinstance(chunk, LineBlock) else chunk
    records = parse_records(
        (_decode(raw) for _, raw in items),
        manifest_uri=manifest_uri,
        tz=_zone(tz_name),
        access=access,
    )
    out: list[ParsedLine | BadLine] = []
    for (line_no, _), rec in zip(items, records, strict=True):
        if isinstance(rec, RecordError):
            out.append(BadLine(line_no, rec.scene_id, printable_reason(str(rec))))
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


MAX_REASON_CHARS = 300


def printable_reason(text: str) -> str:
    """A rejection reason as reports, logs and the job's JSON can hold it: quoted values
    from the line may carry control characters (NUL is refused by PostgreSQL's jsonb)
    or megabytes."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    text = text.encode("utf-8", "backslashreplace").decode()
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


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
    """Maps parse_chunk over a stream of chunks, in order, with bounded memory.

    `workers <= 1` parses in this process. Worker processes are forked when the pool is
    entered, before the caller starts any thread, and only ever run parse_chunk.
    """

    def __init__(
        self,
        manifest_uri: str,
        tz_name: str,
        *,
        workers: int,
        access: LocalAccess = OPERATOR,
    ):
        self.manifest_uri, self.tz_name, self.access = manifest_uri, tz_name, access
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> "ParsePool":
        if self.workers > 1 and "fork" in billiard.get_all_start_methods():
            # billiard (Celery's fork of multiprocessing) rather than the standard library:
            # a prefork Celery worker, where API-started ingests run, is a daemonic
            # process, and multiprocessing refuses to start children from one.
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=billiard.get_context("fork"), initializer=yield_cpu
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
                yield from parse_chunk(chunk, self.manifest_uri, self.tz_name, self.access)
            return
        # A few chunks in flight per worker keeps every core busy while the reader and
        # results stay a few megabytes.
        pending: deque[Future] = deque()
        for chunk in chunks:
            pending.append(
                self.executor.submit(
                    parse_chunk, chunk, self.manifest_uri, self.tz_name, self.access
                )
            )
            if len(pending) >= 3 * self.workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
