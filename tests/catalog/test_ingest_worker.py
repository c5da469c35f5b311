"""Ingest jobs in a real Celery worker process: a job whose worker is killed again and
again is failed after the attempt cap instead of running forever, and a job that runs
past the soft time limit is failed as timed out. Never left `running`."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from catalog import services
from catalog.models import Job
from tests.manifests import scene_record, write_manifest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 90


class Worker:
    """One prefork worker (one pool child) on a queue and key prefix of its own."""

    def __init__(self, log_path: Path, **env: str) -> None:
        self.queue = f"ingest-test-{uuid.uuid4().hex[:8]}"
        self.prefix = f"{self.queue}:"
        self.log_path = log_path
        # Not the current app: the rest of the suite sends tasks through the project's.
        self.sender = Celery(
            "ingest-test-sender", broker=settings.CELERY_BROKER_URL, set_as_current=False
        )
        self.sender.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        self.sender.conf.task_serializer = "json"
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CATALOG_EMBEDDED_DB": connection.settings_dict["NAME"],
            "CATALOG_CELERY_EAGER": "0",
            "INGEST_TEST_KEYPREFIX": self.prefix,
            **env,
        }
        self.log = open(log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "tests.catalog.ingest_worker_app",
                "worker", "-P", "prefork", "-c", "1", "-Q", self.queue, "-l", "info",
                "-n", f"{self.queue}@%h",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def send(self, job_id: int) -> None:
        self.sender.send_task("catalog.ingest_manifest", args=[job_id], queue=self.queue)

    def child(self) -> int:
        text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        (child,) = [int(pid) for pid in text.split()]
        return child

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.log.close()
        with self.sender.connection_for_write() as conn:
            client = conn.default_channel.client
            keys = list(client.scan_iter(match=f"{self.prefix}*"))
            if keys:
                client.delete(*keys)
        self.sender.close()


def wait_for(condition, what: str, worker: Worker):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and worker.proc.poll() is None:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{worker.log_path.read_text()[-4000:]}")


@pytest.fixture
def start_worker(tmp_path):
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(workers)}.log", **env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def job(tmp_path, settings):
    settings.CATALOG_LOCAL_ROOTS = [str(tmp_path)]
    manifest = write_manifest(tmp_path / "fleet" / "m.jsonl", [scene_record(0)])
    return Job.objects.create(kind=Job.Kind.INGEST, params={"manifest_uri": manifest.as_uri()})


def _job_state(job_id: int) -> tuple[str, int]:
    job = Job.objects.get(pk=job_id)
    return job.state, job.result.get("attempts", 0)


def test_job_of_a_worker_killed_every_time_fails_after_the_attempt_cap(start_worker, job, tmp_path):
    worker = start_worker(INGEST_TEST_HANG_S="600", CATALOG_LOCAL_ROOTS=str(tmp_path))
    worker.send(job.pk)
    for attempt in range(1, services.INGEST_MAX_ATTEMPTS + 1):
        wait_for(
            lambda a=attempt: _job_state(job.pk) == ("running", a), f"attempt {attempt}", worker
        )
        # e.g. the OOM killer: the main process requeues the message (reject_on_worker_lost)
        os.kill(worker.child(), signal.SIGKILL)
    wait_for(lambda: _job_state(job.pk)[0] == "failed", "the job to fail", worker)
    job.refresh_from_db()
    assert job.error.startswith(f"gave up after {services.INGEST_MAX_ATTEMPTS} attempts")
    assert worker.proc.poll() is None


def test_job_past_the_soft_time_limit_fails_as_timed_out(start_worker, job, tmp_path):
    worker = start_worker(
        INGEST_TEST_HANG_S="600",
        CATALOG_TASK_SOFT_TIME_LIMIT_S="2",
        CATALOG_LOCAL_ROOTS=str(tmp_path),
    )
    worker.send(job.pk)
    wait_for(lambda: _job_state(job.pk)[0] == "failed", "the job to fail", worker)
    job.refresh_from_db()
    assert job.error == "timed out after 2 s"
    assert _job_state(job.pk) == ("failed", 1)
