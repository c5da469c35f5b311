"""Writes in the catalog: ingestion jobs and job progress."""

import functools
import logging

from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError

from catalog import jobs, storage, uris
from catalog.errors import InvalidInput
from catalog.ingest.reader import ManifestError, open_manifest
from catalog.ingest.service import IngestReport, manifest_ingest
from catalog.models import Job

logger = logging.getLogger(__name__)

__all__ = ["IngestReport", "manifest_ingest"]


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
    job = jobs.job_create(kind=Job.Kind.INGEST, params={"manifest_uri": uri}, user=user)
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
    job = jobs.job_attempt_start(
        job_id=job_id, kind=Job.Kind.INGEST, max_attempts=INGEST_MAX_ATTEMPTS
    )
    if job is None:
        return None
    try:
        report = manifest_ingest(
            manifest_uri=job.params["manifest_uri"],
            access=uris.LocalAccess.from_settings(),
            progress=lambda done, total: jobs.job_progress(job_id=job_id, done=done, total=total),
        )
    except ManifestError as exc:
        ingest_job_fail(job_id=job_id, error=str(exc))
        return None
    except (uris.UriRejected, storage.StorageError):
        # Job errors name no path and do not tell a missing file from a forbidden one.
        ingest_job_fail(job_id=job_id, error=f"manifest_uri: {uris.NOT_ALLOWED}")
        return None
    error = f"{len(report.rejected)} line(s) rejected" if report.rejected else ""
    jobs.job_end(job_id=job_id, result=report.as_dict(), error=error)
    return report


def ingest_job_fail(*, job_id: int, error: str) -> None:
    """Fail an unfinished ingest job with `error` (a reason for its owner to read)."""
    jobs.job_fail(job_id=job_id, error=error)


def ingest_jobs_fail_stuck(
    *, running_for_s: float | None = None, queued_for_s: float | None = None
) -> int:
    """Fail the ingest jobs that can no longer end by themselves (see jobs_fail_stuck):
    running without progress past the task's hard time limit (Celery kills a task there,
    so its worker is gone), or queued longer than INGEST_QUEUED_STALE_S."""
    if running_for_s is None:
        running_for_s = settings.CELERY_TASK_TIME_LIMIT + 60
    if queued_for_s is None:
        queued_for_s = INGEST_QUEUED_STALE_S
    return jobs.jobs_fail_stuck(
        kind=Job.Kind.INGEST, running_for_s=running_for_s, queued_for_s=queued_for_s
    )
