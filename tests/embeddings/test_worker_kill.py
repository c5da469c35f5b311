"""A real Celery worker process, killed with SIGKILL in the middle of a scene: after a
restart every scene is embedded exactly once, none lost, none duplicated."""

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

from catalog.models import Job
from embeddings import services
from embeddings.models import Frame, FrameEmbedding, SceneEmbedding, SceneEmbeddingState
from tests.embeddings.embed_support import expected_frames, tiny_model

pytestmark = pytest.mark.django_db(transaction=True)
State = SceneEmbeddingState.State
ROOT = Path(__file__).resolve().parents[2]
SCENES = 4
HZ = 2.0  # 2 cameras x 8 s x 2 Hz = 32 frames per scene
BATCH = 2  # 16 model batches per scene, each slowed down by BATCH_DELAY_S
BATCH_DELAY_S = 0.15
TIMEOUT_S = 180


class Workers:
    """Starts worker processes for one test, on a queue and key prefix of its own."""

    def __init__(self, media_dir: Path, log_dir: Path) -> None:
        self.queue = f"emb-test-{uuid.uuid4().hex[:8]}"
        self.prefix = f"{self.queue}:"
        self.media_dir = media_dir
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        # Not the current app: shared tasks sent by later tests must keep the project's
        # (eager) app.
        self.sender = Celery(
            "emb-test-sender", broker=settings.CELERY_BROKER_URL, set_as_current=False
        )
        self.sender.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        self.sender.conf.task_serializer = "json"

    def start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CATALOG_EMBEDDED_DB": connection.settings_dict["NAME"],
            "CATALOG_CELERY_EAGER": "0",
            "CATALOG_MEDIA_URI": self.media_dir.as_uri(),
            "CATALOG_CLIP_MODEL": "test-tiny",
            "CATALOG_CLIP_PRETRAINED": "",
            "CATALOG_EMBED_HZ": str(HZ),
            "CATALOG_EMBED_BATCH_SIZE": str(BATCH),
            "HF_HUB_OFFLINE": "1",
            "EMBED_TEST_KEYPREFIX": self.prefix,
            "EMBED_TEST_BATCH_DELAY_S": str(BATCH_DELAY_S),
        }
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "tests.embeddings.worker_app", "worker",
                "-P", "prefork", "-c", "1", "-Q", self.queue, "-l", "info",
                "-n", f"{self.queue}-{len(self.procs)}@%h",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def send(self, scene_pk: int) -> None:
        self.sender.send_task("embeddings.tasks.embed_scene", args=[scene_pk], queue=self.queue)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        with self.sender.connection_for_write() as conn:
            client = conn.default_channel.client
            keys = list(client.scan_iter(match=f"{self.prefix}*"))
            if keys:
                client.delete(*keys)


@pytest.fixture
def workers(transactional_db, media_dir, tmp_path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    pool = Workers(media_dir, log_dir)
    yield pool
    pool.stop()


def wait_for(condition, what: str, workers: Workers, timeout_s: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")


def queue_scenes(make_scene, workers: Workers):
    model = tiny_model()
    scenes = [make_scene(seed) for seed in range(SCENES)]
    job = services.embedding_job_create(total=SCENES, model=model, trigger="test")
    services.scenes_attach_to_job(scene_pks=[s.pk for s in scenes], model=model, job=job)
    for scene in scenes:
        workers.send(scene.pk)
    return scenes, job


def running_mid_scene(media_dir: Path):
    """The scene being embedded, once some of its thumbnails are written (mid-scene)."""
    state = SceneEmbeddingState.objects.filter(state=State.RUNNING).select_related("scene")
    for row in state:
        if list((media_dir / "thumbnails" / row.scene.scene_id).rglob("*.jpg")):
            return row
    return None


def assert_each_scene_embedded_once(scenes, job, workers: Workers) -> None:
    wait_for(
        lambda: SceneEmbeddingState.objects.filter(state=State.DONE).count() == SCENES,
        "every scene done",
        workers,
    )
    per_scene = expected_frames(hz=HZ)
    for scene in scenes:
        assert Frame.objects.filter(scene=scene).count() == per_scene
        assert FrameEmbedding.objects.filter(scene=scene).count() == per_scene
        assert SceneEmbedding.objects.filter(scene=scene).count() == 1
    job.refresh_from_db()
    assert (job.done, job.total, job.state) == (SCENES, SCENES, Job.State.DONE)


def test_sigkill_of_the_whole_worker_then_a_new_worker(make_scene, media_dir, workers):
    scenes, job = queue_scenes(make_scene, workers)
    first = workers.start()
    victim = wait_for(lambda: running_mid_scene(media_dir), "a scene mid-way", workers)
    os.killpg(first.pid, signal.SIGKILL)  # main process and pool child, no goodbye
    first.wait(timeout=30)
    victim.refresh_from_db()
    assert victim.state == State.RUNNING  # interrupted: nothing of it was stored
    assert not Frame.objects.filter(scene=victim.scene).exists()

    workers.start()  # recovers the unacknowledged message after its visibility timeout
    assert_each_scene_embedded_once(scenes, job, workers)
    victim.refresh_from_db()
    assert victim.attempts >= 2


def _pool_children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_sigkill_of_the_pool_child_requeues_its_scene(make_scene, media_dir, workers):
    scenes, job = queue_scenes(make_scene, workers)
    worker = workers.start()
    victim = wait_for(lambda: running_mid_scene(media_dir), "a scene mid-way", workers)
    (child,) = _pool_children(worker.pid)
    os.kill(child, signal.SIGKILL)  # e.g. the OOM killer; the main process survives
    # reject_on_worker_lost: the main process requeues the message at once, and its new
    # pool child embeds the scene again from the start.
    assert_each_scene_embedded_once(scenes, job, workers)
    victim.refresh_from_db()
    assert victim.attempts >= 2
    assert worker.poll() is None
