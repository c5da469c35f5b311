"""Watched ingest: every manifest that appears under CATALOG_INGEST_WATCH_URI is ingested
once per content, without anyone running `manage.py ingest`.

A tick (`watch_tick`, run by Celery beat every CATALOG_INGEST_WATCH_INTERVAL_S) lists the
location, hashes what it has not seen, and claims each new (uri, sha256) by inserting its
`IngestedManifest` row. The row's unique constraint decides every race: of any number of
ticks and workers claiming one manifest, exactly one inserts the row and queues its
ingest; the others find it and move on. (Ticks also take a PostgreSQL advisory lock, so
an overlapping tick skips its turn instead of hashing the same files again.)

The ingest itself (`watched_manifest_run`, one Celery task per manifest) reads as an
operator would (`uris.OPERATOR`: the location is configured by whoever runs the
catalog) through `catalog.ingest.service.manifest_ingest`, and records its counts on the
row and on an ingest Job. A manifest that cannot be read right now (S3 or the disk
failing) is tried again by later ticks, up to MAX_ATTEMPTS in all; one that can never be
ingested (not Parquet, too large) is failed at once.
"""

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import KombuError

from catalog import storage, uris
from catalog.ingest.reader import ManifestError
from catalog.ingest.service import manifest_ingest
from catalog.ingest.watch_source import (
    Candidate,
    Unsettled,
    content_sha256,
    list_candidates,
    watch_root,
)
from catalog.models import IngestedManifest, Job

logger = logging.getLogger(__name__)

State = IngestedManifest.State
MAX_ATTEMPTS = 3
_TICK_LOCK = "catalog.watch_ingest"


@dataclass
class TickReport:
    root: str | None
    listed: int = 0
    claimed: list[int] = field(default_factory=list)  # IngestedManifest pks queued
    unsettled: list[str] = field(default_factory=list)  # still being written
    busy: bool = False  # another tick held the lock


def watch_tick(*, root: str | None = None) -> TickReport:
    """List the watched location and queue the ingest of every manifest not ingested
    before (by URI and content). A no-op when CATALOG_INGEST_WATCH_URI is unset."""
    root = root or watch_root()
    report = TickReport(root)
    if root is None:
        return report
    with _tick_lock() as locked:
        if not locked:
            report.busy = True
            return report
        candidates = list_candidates(root)
        report.listed = len(candidates)
        known = _known_fingerprints([c.uri for c in candidates])
        for candidate in candidates:
            if (candidate.uri, candidate.fingerprint) in known:
                continue
            try:
                sha256 = content_sha256(candidate)
            except Unsettled:
                report.unsettled.append(candidate.uri)
                continue
            except storage.StorageError as exc:
                logger.warning("watched manifest %s cannot be read now: %s", candidate.uri, exc)
                continue
            claimed = manifest_claim(candidate=candidate, sha256=sha256)
            if claimed is not None:
                report.claimed.append(claimed.pk)
        report.claimed.extend(_retry_failed())
    if report.claimed:
        logger.info("watched ingest: %d manifest(s) queued", len(report.claimed))
    return report


@contextmanager
def _tick_lock() -> Iterator[bool]:
    """A session-level advisory lock for the tick (released even if the tick fails;
    PostgreSQL drops it with the connection if the process dies)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [_TICK_LOCK])
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_TICK_LOCK])


def _known_fingerprints(manifest_uris: list[str]) -> set[tuple[str, str]]:
    """(uri, fingerprint) of each URI's current content (its newest claim). Only that
    one: an S3 object rewritten A -> B -> A shows A's ETag again, and must be read."""
    rows = (
        IngestedManifest.objects.filter(uri__in=manifest_uris)
        .order_by("uri", "-claimed_at", "-id")
        .distinct("uri")
        .values_list("uri", "fingerprint")
    )
    return {(uri, fingerprint) for uri, fingerprint in rows if fingerprint}


_CLAIM = """
    INSERT INTO catalog_ingestedmanifest
        (uri, sha256, size_bytes, fingerprint, state, attempts, error, inserted, updated,
         rejected, discovered_at, claimed_at)
    VALUES (%s, %s, %s, %s, %s, 0, '', 0, 0, 0, now(), now())
    ON CONFLICT (uri, sha256) DO NOTHING
    RETURNING id
"""


@transaction.atomic
def manifest_claim(*, candidate: Candidate, sha256: str) -> IngestedManifest | None:
    """Claim the manifest's content for ingestion: the row, with a queued Job, when this
    caller is the one to ingest it; None when it is known (ingested, or claimed by
    someone else). Known content is ingested again only when the URI held other content
    since (A -> B -> A: A is current again)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM,
            [candidate.uri, sha256, candidate.size_bytes, candidate.fingerprint, State.QUEUED],
        )
        row = cursor.fetchone()
    if row is not None:
        return _queue(IngestedManifest.objects.select_for_update().get(pk=row[0]))
    manifest = IngestedManifest.objects.select_for_update().get(uri=candidate.uri, sha256=sha256)
    manifest.fingerprint = candidate.fingerprint
    replaced = IngestedManifest.objects.filter(
        uri=candidate.uri, claimed_at__gt=manifest.claimed_at
    ).exists()
    if replaced and manifest.state in (State.DONE, State.FAILED):
        manifest.attempts, manifest.size_bytes = 0, candidate.size_bytes
        return _queue(manifest)
    manifest.save(update_fields=["fingerprint"])
    return None


def _queue(manifest: IngestedManifest) -> IngestedManifest:
    """Mark the (locked) row queued under a new ingest Job; the task is sent once this
    transaction commits."""
    job = Job.objects.create(
        kind=Job.Kind.INGEST,
        params={"manifest_uri": manifest.uri, "watched_manifest": manifest.pk},
    )
    manifest.state, manifest.job, manifest.error = State.QUEUED, job, ""
    manifest.claimed_at = timezone.now()
    manifest.save()
    transaction.on_commit(functools.partial(_enqueue, manifest_pk=manifest.pk, job_id=job.pk))
    return manifest


def _enqueue(*, manifest_pk: int, job_id: int) -> None:
    from catalog.tasks import ingest_watched_manifest

    try:
        ingest_watched_manifest.delay(manifest_pk)
    except (KombuError, OSError) as exc:
        logger.warning("watched manifest %s could not be queued: %s", manifest_pk, exc)
        _fail(manifest_pk, job_id, f"not queued: {exc}", retry=True)


def _retry_failed() -> list[int]:
    """Queue again the manifests whose last attempt failed for a reason that may pass
    (storage, a lost worker), while attempts remain."""
    retried = []
    for pk in _stalled_pks():
        with transaction.atomic():
            manifest = (
                IngestedManifest.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, attempts__lt=MAX_ATTEMPTS)
                .first()
            )
            if manifest is not None and _is_stalled(manifest):
                retried.append(_queue(manifest).pk)
    return retried


def _stalled_pks() -> list[int]:
    unfinished = IngestedManifest.objects.filter(
        state__in=[State.QUEUED, State.RUNNING, State.FAILED], attempts__lt=MAX_ATTEMPTS
    )
    return list(unfinished.values_list("pk", flat=True)[:100])


def _is_stalled(manifest: IngestedManifest) -> bool:
    """Failed and worth another try, or left queued/running by a job that ended without
    it (`catalog.fail_stuck_ingest_jobs` failed the job of a lost task or worker)."""
    if manifest.state == State.FAILED:
        return True
    job_state = Job.objects.filter(pk=manifest.job_id).values_list("state", flat=True).first()
    return job_state in (None, Job.State.FAILED)


# --- one manifest (the Celery task's body) -------------------------------------------------


def watched_manifest_run(*, manifest_pk: int) -> IngestedManifest | None:
    """Ingest one claimed manifest; ends it `done` (with its counts) or `failed` (with
    the reason). A manifest already finished, or claimed again meanwhile, is left alone.
    Unexpected errors propagate (the task fails it as an internal error)."""
    manifest = _start(manifest_pk)
    if manifest is None:
        return None
    job_id = manifest.job_id

    def progress(done: int, total: int | None) -> None:
        Job.objects.filter(pk=job_id).update(done=done, total=total, updated_at=timezone.now())

    try:
        report = manifest_ingest(manifest_uri=manifest.uri, access=uris.OPERATOR, progress=progress)
    except ManifestError as exc:
        return _fail(manifest_pk, job_id, str(exc), retry=False)
    except (uris.UriRejected, storage.StorageError) as exc:
        return _fail(manifest_pk, job_id, str(exc), retry=True)
    return _finish(manifest_pk, job_id, report)


@transaction.atomic
def _start(manifest_pk: int) -> IngestedManifest | None:
    manifest = IngestedManifest.objects.select_for_update().filter(pk=manifest_pk).first()
    if manifest is None or manifest.state not in (State.QUEUED, State.RUNNING):
        return None
    if manifest.attempts >= MAX_ATTEMPTS:
        # Delivered again after its worker died each time.
        manifest.state = State.FAILED
        manifest.error = f"gave up after {MAX_ATTEMPTS} attempts"
        manifest.save(update_fields=["state", "error"])
        _job_end(manifest.job_id, error=manifest.error, result={})
        return None
    manifest.state, manifest.attempts = State.RUNNING, F("attempts") + 1
    manifest.save(update_fields=["state", "attempts"])
    Job.objects.filter(pk=manifest.job_id).update(
        state=Job.State.RUNNING, updated_at=timezone.now()
    )
    manifest.refresh_from_db()
    return manifest


@transaction.atomic
def _finish(manifest_pk: int, job_id: int | None, report) -> IngestedManifest | None:
    manifest = IngestedManifest.objects.select_for_update().filter(pk=manifest_pk).first()
    if manifest is None or manifest.job_id != job_id:
        return None  # claimed again meanwhile: the newer claim reports
    manifest.state = State.DONE
    manifest.inserted, manifest.updated = report.inserted, report.updated
    manifest.rejected, manifest.error = len(report.rejected), ""
    manifest.ingested_at = timezone.now()
    manifest.save()
    rejected = f"{len(report.rejected)} line(s) rejected" if report.rejected else ""
    _job_end(job_id, error=rejected, result=report.as_dict(max_rejections=100))
    return manifest


def _fail(manifest_pk: int, job_id: int | None, error: str, *, retry: bool) -> None:
    """Fail the manifest's current attempt; with `retry`, later ticks try again while
    attempts remain."""
    with transaction.atomic():
        manifest = IngestedManifest.objects.select_for_update().filter(pk=manifest_pk).first()
        if manifest is None or manifest.job_id != job_id:
            return None
        manifest.state, manifest.error = State.FAILED, error[:4000]
        if not retry:
            manifest.attempts = MAX_ATTEMPTS
        manifest.save(update_fields=["state", "error", "attempts"])
        _job_end(job_id, error=error, result={})
    logger.warning("watched manifest %s failed: %s", manifest.uri, error)
    return None


def watched_manifest_fail(*, manifest_pk: int, error: str) -> None:
    """Fail the manifest's current attempt for a reason of ours (an internal error); it
    is tried again while attempts remain."""
    job_id = (
        IngestedManifest.objects.filter(pk=manifest_pk).values_list("job_id", flat=True).first()
    )
    _fail(manifest_pk, job_id, error, retry=True)


def _job_end(job_id: int | None, *, error: str, result: dict) -> None:
    Job.objects.filter(pk=job_id).exclude(state__in=[Job.State.DONE, Job.State.FAILED]).update(
        state=Job.State.FAILED if error else Job.State.DONE,
        error=error[:4000],
        result=result,
        updated_at=timezone.now(),
    )
