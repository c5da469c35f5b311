"""Celery tasks of the catalog. Delivery settings (acks_late, reject_on_worker_lost) are
global: a worker that dies mid-task has its message delivered again."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection

from catalog import services, storage, uris
from catalog.ingest.watch import watch_tick, watched_manifest_fail, watched_manifest_run

logger = logging.getLogger(__name__)


@shared_task(name="catalog.ingest_manifest")
def ingest_manifest(job_id: int) -> None:
    """Ingest the manifest of job `job_id`. Whatever happens in here, the job ends `done`
    or `failed` with a reason; a dying worker is covered by redelivery (attempt-capped in
    services) and by `fail_stuck_ingest_jobs`."""
    try:
        services.ingest_job_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        _fail(job_id, f"timed out after {settings.CELERY_TASK_SOFT_TIME_LIMIT} s")
    except Exception:
        logger.exception("ingest job %s: internal error", job_id)
        _fail(job_id, "internal error")


def _fail(job_id: int, error: str) -> None:
    try:
        services.ingest_job_fail(job_id=job_id, error=error)
    except DatabaseError:
        # The interruption left the connection mid-statement: once more on a new one.
        connection.close()
        services.ingest_job_fail(job_id=job_id, error=error)


@shared_task(name="catalog.fail_stuck_ingest_jobs")
def fail_stuck_ingest_jobs() -> int:
    """Periodic: fail ingest jobs whose worker or message was lost (see services)."""
    return services.ingest_jobs_fail_stuck()


@shared_task(name="catalog.watch_ingest")
def watch_ingest() -> int:
    """Periodic (beat): queue the ingest of every new manifest under
    CATALOG_INGEST_WATCH_URI; returns how many were queued."""
    try:
        return len(watch_tick().claimed)
    except (storage.StorageError, uris.UriRejected) as exc:
        logger.warning("CATALOG_INGEST_WATCH_URI cannot be listed now: %s", exc)
        return 0


@shared_task(name="catalog.ingest_watched_manifest")
def ingest_watched_manifest(manifest_pk: int) -> None:
    """Ingest one manifest claimed by `watch_ingest`. Whatever happens, it ends done or
    failed with a reason (failed ones are tried again by later ticks, attempt-capped)."""
    try:
        watched_manifest_run(manifest_pk=manifest_pk)
    except SoftTimeLimitExceeded:
        _fail_watched(manifest_pk, f"timed out after {settings.CELERY_TASK_SOFT_TIME_LIMIT} s")
    except Exception:
        logger.exception("watched manifest %s: internal error", manifest_pk)
        _fail_watched(manifest_pk, "internal error")


def _fail_watched(manifest_pk: int, error: str) -> None:
    try:
        watched_manifest_fail(manifest_pk=manifest_pk, error=error)
    except DatabaseError:
        connection.close()  # left mid-statement by the interruption: once more, anew
        watched_manifest_fail(manifest_pk=manifest_pk, error=error)
