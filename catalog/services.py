"""Writes in the catalog: ingestion jobs and job progress."""

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import KombuError

from catalog import storage, uris
from catalog.errors import InvalidInput
from catalog.ingest.reader import ManifestError, open_manifest
from catalog.ingest.service import IngestReport, manifest_ingest
from catalog.models import Job

logger = logging.getLogger(__name__)

__all__ = ["IngestReport", "manifest_ingest"]


@transaction.atomic
def job_create(*, kind: str, params: dict, user=None) -> Job:
    return Job.objects.create(kind=kind, params=params, created_by=user)


def job_advance(*, job_id: int, by: int = 1) -> None:
    """Atomically count finished units (many workers report into one job)."""
    Job.objects.filter(pk=job_id).update(done=F("done") + by)


class QueueUnavailable(RuntimeError):
    """The task queue did not take the work; the job was marked failed, not left queued."""


# A delivery of an ingest job counts as an attempt; a job delivered again after its
# worker died this many times is failed instead of being run once more.
INGEST_MAX_ATTEMPTS = 3
# A queued ingest older than this lost its message (e.g. the broker restarted without
# persistence). Generous: ingests wait behind embedding work in a busy queue.
INGEST_QUEUED_STALE_S = 24 * 3600


def ingest_job_create(*, manifest_uri: str, user=None) -> Job:
    """Queue an ingest of the manifest at `manifest_uri` for a caller of the HTTP API.

    The location is checked now (InvalidInput, a 400): only S3 and the local files that
    catalog.uris allows API callers, with one answer for a file that is missing and one
    that is not allowed. Raises QueueUnavailable when the broker does not take the task;
    the job is then already marked failed.
    """
    uri = _api_manifest_location(manifest_uri)
    job = job_create(kind=Job.Kind.INGEST, params={"manifest_uri": uri}, user=user)
    # Straight away outside a transaction (so a refusal reaches the caller), after the
    # commit inside one (so the worker finds the job).
    transaction.on_commit(functools.partial(_ingest_enqueue, job_id=job.pk))
    return job


def _api_manifest_location(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput({"manifest_uri": f"expected a URI ({uris.FORMS})"})
    try:
        uri = uris.location(text.strip())
    except uris.UriRejected as exc:
        raise InvalidInput({"manifest_uri": str(exc)}) from None
    try:
        uris.LocalAccess.from_settings().check(uri)
        open_manifest(uri)
    except ManifestError as exc:
        raise InvalidInput({"manifest_uri": str(exc)}) from None
    except (uris.UriRejected, storage.StorageError):
        raise InvalidInput({"manifest_uri": uris.NOT_ALLOWED}) from None
    return uri


def _ingest_enqueue(*, job_id: int) -> None:
    from catalog.tasks import ingest_manifest

    try:
        ingest_manifest.apply_async((job_id,), retry_policy=ENQUEUE_RETRY_POLICY)
    except (KombuError, OSError) as exc:
        logger.warning("ingest job %s could not be queued: %s", job_id, exc)
        message = "the task queue is unavailable; try again later"
        ingest_job_fail(job_id=job_id, error=f"not queued: {message}")
        raise QueueUnavailable(message) from exc


# A few quick tries: the caller is waiting for an answer.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def ingest_job_run(*, job_id: int) -> IngestReport | None:
    """One delivery of an ingest job (the body of its Celery task): ends the job `done`
    or `failed` with a reason, unless the process dies on the way; then the broker
    delivers it again, up to INGEST_MAX_ATTEMPTS times. A finished job is not run again.
    Unexpected errors propagate (the task fails the job as an internal error)."""
    job = _ingest_attempt_start(job_id=job_id)
    if job is None:
        return None
    try:
        report = manifest_ingest(
            manifest_uri=job.params["manifest_uri"],
            access=uris.LocalAccess.from_settings(),
            progress=lambda done, total: _ingest_progress(job_id=job_id, done=done, total=total),
        )
    except ManifestError as exc:
        ingest_job_fail(job_id=job_id, error=str(exc))
        return None
    except (uris.UriRejected, storage.StorageError):
        # Job errors name no path and do not tell a missing file from a forbidden one.
        ingest_job_fail(job_id=job_id, error=f"manifest_uri: {uris.NOT_ALLOWED}")
        return None
    error = f"{len(report.rejected)} line(s) rejected" if report.rejected else ""
    _ingest_job_end(job_id=job_id, result=report.as_dict(), error=error)
    return report


@transaction.atomic
def _ingest_attempt_start(*, job_id: int) -> Job | None:
    """The job, marked running with one more attempt, or None when it must not run: it
    is unknown, already finished, or out of attempts (then it is failed here)."""
    job = Job.objects.select_for_update().filter(pk=job_id, kind=Job.Kind.INGEST).first()
    if job is None or job.state in (Job.State.DONE, Job.State.FAILED):
        return None
    attempts = _attempts(job) + 1
    if attempts > INGEST_MAX_ATTEMPTS:
        job.state = Job.State.FAILED
        job.error = f"gave up after {INGEST_MAX_ATTEMPTS} attempts: the worker stopped during each"
        job.save(update_fields=["state", "error", "updated_at"])
        return None
    job.state, job.result = Job.State.RUNNING, {"attempts": attempts}
    job.save(update_fields=["state", "result", "updated_at"])
    return job


def _attempts(job: Job) -> int:
    attempts = job.result.get("attempts") if isinstance(job.result, dict) else None
    return attempts if isinstance(attempts, int) else 0


def _ingest_progress(*, job_id: int, done: int, total: int | None) -> None:
    # updated_at is the job's sign of life for ingest_jobs_fail_stuck.
    Job.objects.filter(pk=job_id).update(done=done, total=total, updated_at=timezone.now())


def _ingest_job_end(*, job_id: int, result: dict, error: str) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in (Job.State.DONE, Job.State.FAILED):
            return
        job.state = Job.State.FAILED if error else Job.State.DONE
        job.result = {**result, "attempts": _attempts(job)}
        job.error = error
        job.save(update_fields=["state", "result", "error", "updated_at"])


def ingest_job_fail(*, job_id: int, error: str) -> None:
    """Fail an unfinished ingest job with `error` (a reason for its owner to read)."""
    _ingest_job_end(job_id=job_id, result={}, error=error)


def ingest_jobs_fail_stuck(
    *, running_for_s: float | None = None, queued_for_s: float | None = None
) -> int:
    """Fail the ingest jobs that can no longer end by themselves; returns how many.

    Running with no sign of life (progress) for longer than the task's hard time limit:
    Celery kills a task at that limit, so its worker is gone. Queued for longer than
    `queued_for_s` (default INGEST_QUEUED_STALE_S): its message is lost. Safe to run at
    any time, from any number of processes (e.g. periodically from Celery beat).
    """
    now = timezone.now()
    if running_for_s is None:
        running_for_s = settings.CELERY_TASK_TIME_LIMIT + 60
    if queued_for_s is None:
        queued_for_s = INGEST_QUEUED_STALE_S
    ingests = Job.objects.filter(kind=Job.Kind.INGEST)
    stuck = ingests.filter(
        state=Job.State.RUNNING, updated_at__lt=now - timedelta(seconds=running_for_s)
    ).update(
        state=Job.State.FAILED,
        error="stopped without finishing: its worker was lost",
        updated_at=now,
    )
    stuck += ingests.filter(
        state=Job.State.QUEUED, updated_at__lt=now - timedelta(seconds=queued_for_s)
    ).update(
        state=Job.State.FAILED,
        error="never started: its task was lost; start the ingest again",
        updated_at=now,
    )
    if stuck:
        logger.warning("failed %d stuck ingest job(s)", stuck)
    return stuck
