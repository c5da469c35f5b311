"""Ingest one manifest: stream, validate line by line, upsert in batches, report."""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction

from catalog import hooks, uris
from catalog.ingest.parse import BadLine, ParsedLine, ParsePool, printable_reason
from catalog.ingest.priority import yield_database_cpu
from catalog.ingest.reader import iter_chunks, open_manifest
from catalog.ingest.writer import write_batch

logger = logging.getLogger(__name__)

# Progress callback: (lines read so far, estimated total lines or None).
Progress = Callable[[int, int | None], None]


@dataclass
class Rejection:
    line: int
    scene_id: str | None
    reason: str


@dataclass
class IngestReport:
    manifest_uri: str
    lines: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self, max_rejections: int = 1000) -> dict:
        data = asdict(self)
        data["rejected_count"] = len(self.rejected)
        data["rejected"] = data["rejected"][:max_rejections]
        return data


def manifest_ingest(
    *,
    manifest_uri: str,
    progress: Progress | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    access: uris.LocalAccess | None = None,
) -> IngestReport:
    """Ingest every valid line of the manifest at `manifest_uri` (path or URI).

    `access` says which local files the manifest and its lines may name (catalog.uris);
    by default any path, as for an operator on the machine. Every line is validated
    before anything is written; an invalid one is reported and the rest still land.

    Each batch commits on its own: a crash loses at most the batch in flight, never half a
    scene, and running the same manifest again finishes the job without changing what
    already landed. Raises uris.UriRejected for a location that is not allowed, and
    StorageError if the manifest itself cannot be read.
    """
    access = access or uris.OPERATOR
    uri = access.pinned(uris.location(manifest_uri))
    manifest = open_manifest(uri)
    report = IngestReport(manifest_uri=uri)
    batch_size = batch_size or settings.CATALOG_INGEST_BATCH_SIZE
    started = time.monotonic()
    bytes_read = 0

    def count_bytes(n: int) -> None:
        nonlocal bytes_read
        bytes_read += n

    seen: dict[str, int] = {}
    batch: list[ParsedLine] = []
    pool = ParsePool(
        uri, settings.CATALOG_TIMEZONE, workers=_workers(manifest, workers), access=access
    )
    # Inside an outer transaction (tests, callers composing work) everything must stay on
    # this connection; otherwise a writer thread overlaps parsing with the database.
    with pool, BatchWriter(uri, report, threaded=not connection.in_atomic_block) as writer:
        for parsed in pool.parse(iter_chunks(manifest, on_bytes=count_bytes)):
            report.lines += 1
            if _accept(parsed, seen, report):
                batch.append(parsed)
            if len(batch) >= batch_size:
                writer.submit(batch)
                batch = []
                if progress:
                    progress(report.lines, _estimate_total(report.lines, bytes_read, manifest))
        if batch:
            writer.submit(batch)
    report.rejected.sort(key=lambda r: r.line)
    report.seconds = round(time.monotonic() - started, 3)
    if progress:
        progress(report.lines, report.lines)
    return report


SCENE_RACE_ATTEMPTS = 3
# Below this a manifest is parsed in-process: starting workers would cost more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


def _workers(manifest, requested: int | None) -> int:
    if requested is not None:
        return requested
    if manifest.size_bytes is not None and manifest.size_bytes < PARALLEL_MIN_BYTES:
        return 1
    return settings.CATALOG_INGEST_WORKERS


def _accept(parsed: ParsedLine | BadLine, seen: dict[str, int], report: IngestReport) -> bool:
    if isinstance(parsed, BadLine):
        report.rejected.append(Rejection(parsed.line_no, parsed.scene_id, parsed.reason))
        return False
    first = seen.setdefault(parsed.scene_id, parsed.line_no)
    if first != parsed.line_no:
        report.rejected.append(
            Rejection(parsed.line_no, parsed.scene_id, f"scene_id: duplicate of line {first}")
        )
        return False
    return True


class BatchWriter:
    """Commits batches, each in its own transaction, inline or on one writer thread.

    The thread lets Python parse batch n+1 while PostgreSQL works on batch n (the two
    use different cores). The queue is short so memory stays bounded; the first error
    stops the writer and is raised to the producer.
    """

    _DONE = object()

    def __init__(self, uri: str, report: IngestReport, *, threaded: bool):
        self.uri, self.report, self.threaded = uri, report, threaded
        self.error: BaseException | None = None
        if threaded:
            self.queue: queue.Queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self.thread.start()

    def submit(self, batch: list[ParsedLine]) -> None:
        if not self.threaded:
            self._flush(batch)
            return
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            # This thread's own database session writes the batches: background work too.
            yield_database_cpu(connection)
            while (batch := self.queue.get()) is not self._DONE:
                if self.error is None:
                    try:
                        self._flush(batch)
                    except BaseException as exc:  # handed to the producer thread
                        self.error = exc
        finally:
            connection.close()

    def _flush(self, batch: list[ParsedLine]) -> None:
        """Write the batch; should the database refuse a value that validation let
        through, halve the batch until that line stands alone and reject just it."""
        try:
            self._write(batch)
        except (DataError, IntegrityError) as exc:
            if not _is_refused_value(exc):
                raise
            if len(batch) > 1:
                middle = len(batch) // 2
                self._flush(batch[:middle])
                self._flush(batch[middle:])
                return
            line = batch[0]
            logger.warning(
                "line %d passed validation but the database refused it: %s", line.line_no, exc
            )
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
            self.report.rejected.append(
                Rejection(
                    line.line_no,
                    line.scene_id,
                    printable_reason(f"refused by the database: {reason}"),
                )
            )

    def _write(self, batch: list[ParsedLine]) -> None:
        for attempt in range(1, SCENE_RACE_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    result = write_batch(batch, self.uri)
                    hooks.notify_scenes_changed(result.inserted + result.updated)
                break
            except IntegrityError as exc:
                # Another ingest inserted one of our new scenes first; run the batch
                # again and it is seen as existing.
                if attempt == SCENE_RACE_ATTEMPTS or not _is_scene_insert_race(exc):
                    raise
        self.report.inserted += len(result.inserted)
        self.report.updated += len(result.updated)
        self.report.unchanged += result.unchanged
        self.report.rejected.extend(Rejection(*r) for r in result.rejected)

    def __enter__(self) -> "BatchWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.threaded:
            return
        self.queue.put(self._DONE)
        self.thread.join()
        if exc is None and self.error is not None:
            raise self.error


# Invalid values (class 22: too long, bad encoding, out of range, ...) and CHECK
# constraints: a property of a line, unlike a lost connection or a deadlock.
def _is_refused_value(exc: DataError | IntegrityError) -> bool:
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return sqlstate.startswith("22") or sqlstate == "23514"


def _is_scene_insert_race(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return (
        getattr(exc.__cause__, "sqlstate", None) == "23505"
        and diag is not None
        and diag.table_name == "catalog_scene"
    )


def _estimate_total(lines: int, bytes_read: int, manifest) -> int | None:
    if manifest.format != "jsonl" or not manifest.size_bytes or not bytes_read:
        return None
    return max(lines, round(lines * manifest.size_bytes / bytes_read))
