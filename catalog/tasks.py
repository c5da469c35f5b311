from celery import shared_task

from catalog import services


@shared_task(name="catalog.ingest_manifest")
def ingest_manifest(job_id: int) -> None:
    services.ingest_job_run(job_id=job_id)
