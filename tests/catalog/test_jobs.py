"""Job bookkeeping: every job ends done or failed, with a reason, exactly once."""

import threading

import pytest
from django.db import connection, transaction

from catalog import jobs
from catalog.models import Job


@pytest.mark.django_db
def test_a_job_of_zero_units_is_done_at_once():
    assert jobs.job_create(kind=Job.Kind.EMBED, params={}, total=0).state == Job.State.DONE


@pytest.mark.django_db
def test_units_end_the_job_and_a_failure_fails_it_with_the_first_reason():
    job = jobs.job_create(kind=Job.Kind.EMBED, params={}, total=3)
    with transaction.atomic():
        jobs.job_count_units(job_id=job.pk)
        jobs.job_count_units(job_id=job.pk, failed=1, error="s1: corrupt video")
    job.refresh_from_db()
    assert (job.state, job.done) == (Job.State.RUNNING, 2)
    with transaction.atomic():
        jobs.job_count_units(job_id=job.pk, failed=1, error="s2: later")
    job.refresh_from_db()
    assert (job.state, job.done, job.result["failed"]) == (Job.State.FAILED, 3, 2)
    assert job.error == "2 of 3 failed; first: s1: corrupt video"


@pytest.mark.django_db
def test_an_ended_job_keeps_its_outcome():
    job = jobs.job_create(kind=Job.Kind.INGEST, params={})
    jobs.job_end(job_id=job.pk, result={"inserted": 2})
    jobs.job_fail(job_id=job.pk, error="too late")
    job.refresh_from_db()
    assert (job.state, job.error, job.result["inserted"]) == (Job.State.DONE, "", 2)


@pytest.mark.django_db
def test_attempts_are_capped():
    job = jobs.job_create(kind=Job.Kind.INGEST, params={})
    for _ in range(2):
        assert jobs.job_attempt_start(job_id=job.pk, kind=Job.Kind.INGEST, max_attempts=2)
    assert jobs.job_attempt_start(job_id=job.pk, kind=Job.Kind.INGEST, max_attempts=2) is None
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "gave up after 2 attempts" in job.error


@pytest.mark.django_db(transaction=True)
def test_workers_counting_at_once_lose_no_unit():
    job = jobs.job_create(kind=Job.Kind.EMBED, params={}, total=40)

    def count(n):
        for _ in range(n):
            with transaction.atomic():
                jobs.job_count_units(job_id=job.pk)
        connection.close()

    threads = [threading.Thread(target=count, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    job.refresh_from_db()
    assert (job.done, job.state) == (40, Job.State.DONE)
