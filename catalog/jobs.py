"""Job bookkeeping: the one place that writes `Job` rows, for every kind of work.

A job is created `queued`, becomes `running`, and always ends `done` or `failed` with a
reason. Two shapes of work report here:

- a single task (an ingest): `job_attempt_start` -> `job_progress` ... -> `job_end`; a
  task redelivered after its worker died counts another attempt, and past the cap the job
  is failed instead of run again;
- many units reported by many workers (scenes of an embedding job): `job_count_units`
  counts finished units atomically and ends the job when they reach its total.

`jobs_fail_stuck` fails what can no longer end by itself (a lost worker, a lost message);
it is safe to run at any time from any number of processes.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import Job

logger = logging.getLogger(__name__)

FINISHED = (Job.State.DONE, Job.State.FAILED)
ERROR_MAX = 4000


def job_create(*, kind: str, params: dict, user=None, total: int | None = None) -> Job:
    """A queued job; a job of zero units is done at once."""
    state = Job.State.DONE if total == 0 else Job.State.QUEUED
    return Job.objects.create(kind=kind, params=params, created_by=user, total=total, state=state)


def attempts(job: Job) -> int:
    value = job.result.get("attempts") if isinstance(job.result, dict) else None
    return value if isinstance(value, int) else 0


@transaction.atomic
def job_attempt_start(*, job_id: int, kind: str, max_attempts: int) -> Job | None:
    """The job, marked running with one more attempt, or None when it must not run: it
    is unknown, already finished, or out of attempts (then it is failed here)."""
    job = Job.objects.select_for_update().filter(pk=job_id, kind=kind).first()
    if job is None or job.state in FINISHED:
        return None
    count = attempts(job) + 1
    if count > max_attempts:
        job.state = Job.State.FAILED
        job.error = f"gave up after {max_attempts} attempts: the worker stopped during each"
        job.save(update_fields=["state", "error", "updated_at"])
        return None
    job.state, job.result = Job.State.RUNNING, {"attempts": count}
    job.save(update_fields=["state", "result", "updated_at"])
    return job


def job_progress(*, job_id: int, done: int, total: int | None) -> None:
    # updated_at is the job's sign of life for jobs_fail_stuck.
    Job.objects.filter(pk=job_id).update(done=done, total=total, updated_at=timezone.now())


@transaction.atomic
def job_end(*, job_id: int, result: dict, error: str = "") -> None:
    """End an unfinished job: `failed` with `error` when there is one, `done` otherwise.
    A job that already ended keeps its outcome."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.state in FINISHED:
        return
    job.state = Job.State.FAILED if error else Job.State.DONE
    job.result = {**result, "attempts": attempts(job)}
    job.error = error[:ERROR_MAX]
    job.save(update_fields=["state", "result", "error", "updated_at"])


def job_fail(*, job_id: int, error: str) -> None:
    """Fail an unfinished job with `error` (a reason for its owner to read)."""
    job_end(job_id=job_id, result={}, error=error)


def job_count_units(*, job_id: int, units: int = 1, failed: int = 0, error: str = "") -> None:
    """Count `units` finished units of a many-unit job (`failed` of them failed, the first
    failure's `error` kept), in the caller's transaction; the job ends when its units
    reach its total, `failed` if any unit failed."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        return
    job.done += units
    result = dict(job.result or {})
    if failed:
        result["failed"] = result.get("failed", 0) + failed
        if not job.error:
            job.error = error
    job.result = result
    if job.total is not None and job.done >= job.total:
        job.state = Job.State.FAILED if result.get("failed") else Job.State.DONE
        if result.get("failed"):
            job.error = f"{result['failed']} of {job.total} failed; first: {job.error}"
    else:
        job.state = Job.State.RUNNING
    job.error = job.error[:ERROR_MAX]
    job.save(update_fields=["done", "result", "error", "state", "updated_at"])


def jobs_fail_stuck(*, kind: str, running_for_s: float, queued_for_s: float) -> int:
    """Fail the jobs of `kind` that can no longer end by themselves; returns how many:
    running with no sign of life for `running_for_s` (their worker is gone), or queued
    for `queued_for_s` (their message is lost)."""
    now = timezone.now()
    jobs = Job.objects.filter(kind=kind)
    stuck = jobs.filter(
        state=Job.State.RUNNING, updated_at__lt=now - timedelta(seconds=running_for_s)
    ).update(
        state=Job.State.FAILED,
        error="stopped without finishing: its worker was lost",
        updated_at=now,
    )
    stuck += jobs.filter(
        state=Job.State.QUEUED, updated_at__lt=now - timedelta(seconds=queued_for_s)
    ).update(
        state=Job.State.FAILED,
        error="never started: its task was lost; start it again",
        updated_at=now,
    )
    if stuck:
        logger.warning("failed %d stuck %s job(s)", stuck, kind)
    return stuck
