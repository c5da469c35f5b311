"""Ingest jobs end `done` or `failed` with a reason, whatever happens; API-started jobs
read only what CATALOG_LOCAL_ROOTS allows, and say so without revealing what exists."""

import logging
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from catalog import jobs, services, uris
from catalog.models import Job, Scene
from catalog.tasks import fail_stuck_ingest_jobs, ingest_manifest
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(tmp_path, settings):
    folder = tmp_path / "root"
    (folder / "videos").mkdir(parents=True)
    settings.CATALOG_LOCAL_ROOTS = [str(folder)]
    return folder


def ingest_job(manifest) -> Job:
    return Job.objects.create(kind=Job.Kind.INGEST, params={"manifest_uri": manifest.as_uri()})


def manifest_with_videos(root, count: int):
    """A manifest of `count` default records in `root`, their videos in place."""
    for index in range(count):
        for camera in scene_record(index)["cameras"].values():
            (root / camera).parent.mkdir(parents=True, exist_ok=True)
            (root / camera).write_bytes(b"video")
    return write_manifest(root / "m.jsonl", [scene_record(i) for i in range(count)])


def test_job_reads_only_videos_under_the_roots(root, tmp_path):
    (root / "videos" / "front.mp4").write_bytes(b"video")
    (tmp_path / "elsewhere.mp4").write_bytes(b"video")
    lines = [
        scene_record(0, cameras={"front_wide": "videos/front.mp4"}),
        scene_record(1, cameras={"front_wide": str(tmp_path / "elsewhere.mp4")}),
        scene_record(2, cameras={"front_wide": "videos/missing.mp4"}),
        scene_record(3, cameras={"front_wide": "../../../../../../etc/passwd"}),
        scene_record(4, cameras={"front_wide": "file:///etc/shadow"}),
    ]
    job = ingest_job(write_manifest(root / "m.jsonl", lines))
    ingest_manifest(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error == "4 line(s) rejected"
    reasons = {r["line"]: r["reason"] for r in job.result["rejected"]}
    assert reasons == {n: f"cameras.front_wide: {uris.NOT_ALLOWED}" for n in (2, 3, 4, 5)}
    assert list(Scene.objects.values_list("scene_id", flat=True)) == [scene_record(0)["scene_id"]]


@pytest.mark.parametrize("where", ["outside", "missing", "data_dir"])
def test_job_error_is_the_same_for_a_missing_and_a_forbidden_manifest(
    root, tmp_path, settings, where
):
    settings.DATA_DIR = root / "data"
    manifest = {
        "outside": tmp_path / "m.jsonl",
        "missing": root / "missing.jsonl",
        "data_dir": settings.DATA_DIR / "m.jsonl",
    }[where]
    if where != "missing":
        write_manifest(manifest, [scene_record(0)])
    job = ingest_job(manifest)
    ingest_manifest(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, f"manifest_uri: {uris.NOT_ALLOWED}")
    assert str(tmp_path) not in str(job.result)
    assert not Scene.objects.exists()


def test_finished_job_is_not_run_again(root):
    job = ingest_job(manifest_with_videos(root, 1))
    ingest_manifest(job.pk)
    Scene.objects.all().delete()
    ingest_manifest(job.pk)  # the same message delivered twice
    job.refresh_from_db()
    assert (job.state, job.result["attempts"]) == (Job.State.DONE, 1)
    assert not Scene.objects.exists()


def test_redelivered_job_counts_its_attempts(root):
    job = ingest_job(manifest_with_videos(root, 1))
    # What a worker killed during the first delivery leaves behind.
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, result={"attempts": 1})
    ingest_manifest(job.pk)
    job.refresh_from_db()
    assert (job.state, job.result["attempts"], job.result["inserted"]) == (Job.State.DONE, 2, 1)


def test_job_out_of_attempts_fails_without_running(root):
    job = ingest_job(manifest_with_videos(root, 1))
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING, result={"attempts": services.INGEST_MAX_ATTEMPTS}
    )
    ingest_manifest(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.error.startswith(f"gave up after {services.INGEST_MAX_ATTEMPTS} attempts")
    assert not Scene.objects.exists()


def test_crash_inside_ingest_fails_the_job_as_internal_error(root, monkeypatch, caplog):
    def crash(**kwargs):
        raise KeyError("something we did not foresee")

    monkeypatch.setattr(services, "manifest_ingest", crash)
    job = ingest_job(manifest_with_videos(root, 1))
    with caplog.at_level(logging.ERROR, logger="catalog.tasks"):
        ingest_manifest(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, "internal error")
    assert "something we did not foresee" in caplog.text  # the traceback is in the log


def test_soft_time_limit_fails_the_job_as_timed_out(root, monkeypatch, settings):
    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "manifest_ingest", too_slow)
    job = ingest_job(manifest_with_videos(root, 1))
    ingest_manifest(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.error == f"timed out after {settings.CELERY_TASK_SOFT_TIME_LIMIT} s"


def test_manifest_too_large_says_so_without_a_path(root, settings):
    manifest = write_manifest(root / "m.jsonl", [scene_record(0)])
    settings.CATALOG_INGEST_MAX_MANIFEST_BYTES = 10
    job = ingest_job(manifest)
    ingest_manifest(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, "manifest larger than 10 bytes")


def _aged(state: str, age_s: float, kind: str = Job.Kind.INGEST) -> Job:
    job = Job.objects.create(kind=kind, state=state, params={})
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(seconds=age_s))
    return job


def test_stuck_jobs_are_failed_and_live_ones_left_alone(settings):
    hard = settings.CELERY_TASK_TIME_LIMIT
    day = services.INGEST_QUEUED_STALE_S
    lost_worker = _aged(Job.State.RUNNING, hard + 120)
    lost_message = _aged(Job.State.QUEUED, day + 60)
    live = _aged(Job.State.RUNNING, hard - 60)
    waiting = _aged(Job.State.QUEUED, hard + 120)
    finished = _aged(Job.State.DONE, day * 2)
    embedding = _aged(Job.State.RUNNING, hard * 10, kind=Job.Kind.EMBED)
    assert fail_stuck_ingest_jobs() == 2
    states = {
        job: Job.objects.values_list("state", "error").get(pk=job.pk)
        for job in (lost_worker, lost_message, live, waiting, finished, embedding)
    }
    assert states[lost_worker][0] == states[lost_message][0] == Job.State.FAILED
    assert "worker was lost" in states[lost_worker][1]
    assert "never started" in states[lost_message][1]
    assert states[live][0] == states[embedding][0] == Job.State.RUNNING
    assert states[waiting][0] == Job.State.QUEUED
    assert states[finished][0] == Job.State.DONE
    assert fail_stuck_ingest_jobs() == 0  # safe to run again at any time


def test_progress_is_a_sign_of_life(root, settings):
    job = ingest_job(manifest_with_videos(root, 4))
    old = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, updated_at=old)
    jobs.job_progress(job_id=job.pk, done=2, total=4)
    assert services.ingest_jobs_fail_stuck() == 0
