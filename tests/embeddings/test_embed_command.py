"""`manage.py embed`: transaction=True so tasks are sent on commit, as in production
(Celery runs them inline in tests)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import Job
from embeddings import queueing
from embeddings.encoder import ClipEncoder
from embeddings.models import EmbeddingModel, SceneEmbeddingState

pytestmark = pytest.mark.django_db(transaction=True)
State = SceneEmbeddingState.State


def embed(*args) -> str:
    out = StringIO()
    call_command("embed", *args, "--no-progress", stdout=out, stderr=out)
    return out.getvalue()


def states(model_name="test-tiny/untrained") -> list[str]:
    return sorted(
        SceneEmbeddingState.objects.filter(model__name=model_name).values_list("state", flat=True)
    )


def test_embed_wait_embeds_every_scene_and_reports(make_scene, media_dir):
    make_scene(1), make_scene(2)
    out = embed("--wait")
    assert "2 scenes queued for test-tiny/untrained" in out and "2 done, 0 failed" in out
    assert states() == ["done", "done"]
    job = Job.objects.get(kind=Job.Kind.EMBED)
    assert (job.done, job.total, job.state) == (2, 2, Job.State.DONE)


def test_embed_skips_scenes_already_embedded(make_scene, media_dir):
    make_scene(1)
    embed("--wait")
    assert "nothing to embed" in embed("--wait")


def test_embed_wait_exits_non_zero_listing_failures(make_scene, media_dir, tmp_path):
    make_scene(1)
    broken = make_scene(2)
    broken.cameras = {"front_wide": (tmp_path / "lost.mp4").as_uri()}
    broken.save()
    with pytest.raises(CommandError) as caught:
        embed("--wait")
    assert caught.value.returncode == 1 and "1 of 2 scenes failed" in str(caught.value)
    assert states() == ["done", "failed"]


def test_embed_inline_needs_no_worker(make_scene, media_dir, monkeypatch):
    def no_broker(**kwargs):
        raise AssertionError("--inline must not send tasks")

    monkeypatch.setattr(queueing, "enqueue_embedding", no_broker)
    make_scene(1)
    out = embed("--inline")
    assert "embedding 1 scenes with test-tiny/untrained here" in out and "1 done" in out
    assert states() == ["done"]


def test_embed_resumes_once_weights_are_available(make_scene, media_dir, settings, tmp_path):
    settings.CATALOG_CLIP_PRETRAINED = "fleet-v1"  # not downloadable, no checkpoint yet
    make_scene(1), make_scene(2)
    with pytest.raises(CommandError) as caught:
        embed("--wait")
    assert states("test-tiny/fleet-v1") == ["failed", "failed"]
    error = SceneEmbeddingState.objects.filter(state=State.FAILED).first().error
    assert "CATALOG_CLIP_CHECKPOINT" in error and caught.value.returncode == 1

    import torch

    checkpoint = tmp_path / "fleet-v1.pt"
    tiny = ClipEncoder("test-tiny", "")
    tiny.load()
    torch.save(tiny._model.state_dict(), checkpoint)
    settings.CATALOG_CLIP_CHECKPOINT = str(checkpoint)
    out = embed("--wait")
    assert "2 scenes queued for test-tiny/fleet-v1" in out
    assert states("test-tiny/fleet-v1") == ["done", "done"]
    assert EmbeddingModel.objects.filter(name="test-tiny/fleet-v1").count() == 1


def test_embed_with_another_model_leaves_the_configured_one(make_scene, media_dir):
    make_scene(1)
    embed("--wait")
    with pytest.raises(CommandError):  # unknown weights: that model fails, only that one
        embed("--wait", "--model", "test-tiny/fleet-v2")
    assert states() == ["done"]
    assert states("test-tiny/fleet-v2") == ["failed"]


def test_wait_hints_at_a_missing_worker_when_nothing_progresses(monkeypatch, capsys):
    import threading

    from embeddings.management.commands import embed as command

    monkeypatch.setattr(command, "POLL_S", 0.05)
    monkeypatch.setattr(command, "STALL_HINT_S", 0.2)
    job = Job.objects.create(kind=Job.Kind.EMBED, total=1)

    def worker_finishes() -> None:
        Job.objects.filter(pk=job.pk).update(done=1, state=Job.State.DONE)
        connection.close()  # this thread's own connection

    finish = threading.Timer(1.0, worker_finishes)
    finish.start()
    try:
        assert command.Command()._wait(job, no_progress=True).state == Job.State.DONE
    finally:
        finish.join()
    assert "is a worker running?" in capsys.readouterr().err
