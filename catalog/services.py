"""Writes in the catalog: ingestion jobs and job progress."""

from django.db import transaction
from django.db.models import F

from catalog import storage
from catalog.errors import InvalidInput
from catalog.ingest.service import IngestReport, manifest_ingest
from catalog.models import Job

__all__ = ["IngestReport", "manifest_ingest"]


@transaction.atomic
def job_create(*, kind: str, params: dict, user=None) -> Job:
    return Job.objects.create(kind=kind, params=params, created_by=user)


def job_started(*, job_id: int, total: int | None = None) -> None:
    Job.objects.filter(pk=job_id).update(state=Job.State.RUNNING, total=total)


def job_progress(*, job_id: int, done: int, total: int | None) -> None:
    Job.objects.filter(pk=job_id).update(done=done, total=total)


def job_advance(*, job_id: int, by: int = 1) -> None:
    """Atomically count finished units (many workers report into one job)."""
    Job.objects.filter(pk=job_id).update(done=F("done") + by)


def job_finished(*, job_id: int, result: dict, error: str = "") -> None:
    Job.objects.filter(pk=job_id).update(
        state=Job.State.FAILED if error else Job.State.DONE, result=result, error=error
    )


@transaction.atomic
def ingest_job_create(*, manifest_uri: str, user=None) -> Job:
    """Validate the manifest location now (400 early), ingest in the background."""
    if not isinstance(manifest_uri, str) or not manifest_uri.strip():
        raise InvalidInput({"manifest_uri": "expected a path, file:// or s3:// URI"})
    uri = storage.to_uri(manifest_uri.strip())
    try:
        storage.size(uri)
    except storage.StorageError as exc:
        raise InvalidInput({"manifest_uri": str(exc)}) from None
    job = job_create(kind=Job.Kind.INGEST, params={"manifest_uri": uri}, user=user)
    from catalog.tasks import ingest_manifest

    ingest_manifest.delay_on_commit(job.pk)
    return job


def ingest_job_run(*, job_id: int) -> IngestReport | None:
    job = Job.objects.get(pk=job_id)
    job_started(job_id=job_id)
    try:
        report = manifest_ingest(
            manifest_uri=job.params["manifest_uri"],
            progress=lambda done, total: job_progress(job_id=job_id, done=done, total=total),
        )
    except storage.StorageError as exc:
        job_finished(job_id=job_id, result={}, error=str(exc))
        return None
    error = f"{len(report.rejected)} line(s) rejected" if report.rejected else ""
    job_finished(job_id=job_id, result=report.as_dict(), error=error)
    return report
