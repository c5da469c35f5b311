"""Scenes left `running` by a worker that no longer exists are queued again by the reaper
that `celery beat` sends, within seconds here (minutes by default), not after the
broker's visibility timeout."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from embeddings import services
from embeddings.models import SceneEmbeddingState
from tests.embeddings.embed_support import tiny_model
from tests.embeddings.test_worker_kill import (
    ROOT,
    Workers,
    assert_each_scene_embedded_once,
    queue_scenes,
    running_mid_scene,
    wait_for,
)
from tests.factories import SceneFactory

State = SceneEmbeddingState.State


def _running(scene, model, *, seconds_ago: float, attempts: int = 1) -> SceneEmbeddingState:
    state = SceneEmbeddingState.objects.create(
        scene=scene, model=model, state=State.RUNNING, attempts=attempts
    )
    when = timezone.now() - timedelta(seconds=seconds_ago)
    SceneEmbeddingState.objects.filter(pk=state.pk).update(updated_at=when)
    return state


@pytest.mark.django_db
def test_release_takes_only_old_running_scenes_no_live_worker_holds():
    model = tiny_model()
    dead, held, fresh = SceneFactory.create_batch(3)
    _running(dead, model, seconds_ago=600, attempts=3)
    _running(held, model, seconds_ago=600)
    _running(fresh, model, seconds_ago=1)
    released = services.scenes_release_stuck(in_flight={held.pk}, older_than_s=60)
    assert released == [(dead.pk, model.name)]
    state = SceneEmbeddingState.objects.get(scene=dead)
    assert (state.state, state.attempts) == (State.PENDING, 3)  # attempts still count
    assert SceneEmbeddingState.objects.get(scene=held).state == State.RUNNING
    assert SceneEmbeddingState.objects.get(scene=fresh).state == State.RUNNING


@pytest.mark.django_db
def test_with_no_worker_answering_every_old_running_scene_is_released():
    model = tiny_model()
    scene = SceneFactory()
    _running(scene, model, seconds_ago=600)
    assert services.scenes_release_stuck(in_flight=None, older_than_s=60) == [
        (scene.pk, model.name)
    ]


class Fleet(Workers):
    """Workers on the project's own queues (default and maintenance) and a beat, under a
    key prefix of the test's own."""

    def __init__(self, media_dir, log_dir):
        super().__init__(media_dir, log_dir)
        self.queue = "celery,maintenance"  # what the workers consume (-Q)

    def send(self, scene_pk: int) -> None:
        self.sender.send_task("embeddings.tasks.embed_scene", args=[scene_pk], queue="celery")

    def start_beat(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CATALOG_CELERY_EAGER": "0",
            "EMBED_TEST_KEYPREFIX": self.prefix,
        }
        log = open(self.log_dir / "beat.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.embeddings.worker_app", "beat",
             "-l", "info", "--schedule", str(self.log_dir / "beat-schedule")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc


@pytest.fixture
def fleet(transactional_db, media_dir, tmp_path, monkeypatch):
    # Redelivery after the visibility timeout cannot be what saves the scene here.
    monkeypatch.setenv("EMBED_TEST_VISIBILITY_S", "3600")
    monkeypatch.setenv("CATALOG_EMBED_REAP_INTERVAL_S", "1")
    monkeypatch.setenv("CATALOG_EMBED_REAP_GRACE_S", "3")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    pool = Fleet(media_dir, log_dir)
    yield pool
    pool.stop()


@pytest.mark.django_db(transaction=True)
def test_the_scene_of_a_worker_killed_whole_is_embedded_again(make_scene, media_dir, fleet):
    scenes, job = queue_scenes(make_scene, fleet)
    first = fleet.start()
    victim = wait_for(lambda: running_mid_scene(media_dir), "a scene mid-way", fleet)
    os.killpg(first.pid, signal.SIGKILL)  # main process and pool child: nobody requeues
    first.wait(timeout=30)

    fleet.start()
    fleet.start_beat()
    assert_each_scene_embedded_once(scenes, job, fleet)
    victim.refresh_from_db()
    assert victim.attempts >= 2
    log = "".join(path.read_text() for path in fleet.log_dir.glob("worker-*.log"))
    assert f"queued again: {victim.scene_id}" in log
