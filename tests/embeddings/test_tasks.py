import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.conf import settings as django_settings

from catalog import hooks
from catalog.models import Job
from catalog.storage import StorageError
from embeddings import queueing, services
from embeddings.models import SceneEmbeddingState
from embeddings.tasks import embed_scene
from embeddings.transient import TransientError, classify_storage_error
from tests.embeddings.embed_support import tiny_model

pytestmark = pytest.mark.django_db
State = SceneEmbeddingState.State


def state_of(scene) -> SceneEmbeddingState:
    return SceneEmbeddingState.objects.get(scene=scene, model=tiny_model())


def test_the_task_embeds_its_scene(make_scene, media_dir):
    scene = make_scene(1)
    assert embed_scene.apply(args=(scene.pk,)).get() == State.DONE
    assert state_of(scene).state == State.DONE


def test_the_task_is_late_acknowledged_and_requeued_when_its_worker_dies():
    assert embed_scene.acks_late and embed_scene.reject_on_worker_lost
    assert django_settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert django_settings.CELERY_TASK_SERIALIZER == "json"
    assert django_settings.CELERY_TASK_TIME_LIMIT > django_settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_transient_errors_are_retried(make_scene, media_dir, monkeypatch):
    scene = make_scene(1)
    real, calls = services.scene_embed, []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) < 3:
            raise TransientError("s3://x/v.mp4: SlowDown")
        return real(**kwargs)

    monkeypatch.setattr(services, "scene_embed", flaky)
    assert embed_scene.apply(args=(scene.pk,)).get() == State.DONE
    assert len(calls) == 3


def test_a_scene_failing_transiently_for_good_is_marked_failed(make_scene, monkeypatch):
    scene = make_scene(1)

    def throttled(**kwargs):
        raise TransientError("s3://x/v.mp4: SlowDown")

    monkeypatch.setattr(services, "scene_embed", throttled)
    assert embed_scene.apply(args=(scene.pk,)).get() == State.FAILED
    assert "gave up after" in state_of(scene).error and "SlowDown" in state_of(scene).error


def test_other_errors_are_not_retried_and_fail_the_scene(make_scene, monkeypatch):
    scene = make_scene(1)
    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        raise ValueError("a bug")

    monkeypatch.setattr(services, "scene_embed", broken)
    assert embed_scene.apply(args=(scene.pk,)).get() == State.FAILED
    assert len(calls) == 1 and "ValueError: a bug" in state_of(scene).error


def _storage_error(cause: Exception) -> StorageError:
    try:
        raise StorageError("cannot read s3://b/k") from cause
    except StorageError as exc:
        return exc


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


def test_throttling_and_unreachable_s3_are_transient():
    assert classify_storage_error(_storage_error(_client_error("SlowDown", 503)))
    assert classify_storage_error(_storage_error(_client_error("InternalError", 500)))
    assert classify_storage_error(_storage_error(EndpointConnectionError(endpoint_url="x")))


def test_missing_or_forbidden_objects_are_not_transient():
    assert classify_storage_error(_storage_error(_client_error("NoSuchKey", 404))) is None
    assert classify_storage_error(_storage_error(_client_error("AccessDenied", 403))) is None
    assert classify_storage_error(_storage_error(FileNotFoundError())) is None


def test_ingestion_hook_is_registered():
    assert queueing.on_scenes_changed in hooks._scenes_changed


def test_changed_scenes_are_queued_after_commit(
    make_scene,
    media_dir,
    django_capture_on_commit_callbacks,
):
    scenes = [make_scene(1), make_scene(2)]
    with django_capture_on_commit_callbacks(execute=True):
        hooks.notify_scenes_changed([s.pk for s in scenes])
        assert not SceneEmbeddingState.objects.exists()  # nothing before the commit
    job = Job.objects.get(kind=Job.Kind.EMBED)
    assert (job.done, job.total, job.state) == (2, 2, Job.State.DONE)
    assert job.params == {"model": "test-tiny/untrained", "trigger": "ingest"}
    assert all(state_of(s).state == State.DONE for s in scenes)


def test_a_broken_model_setting_does_not_break_ingestion(make_scene, settings, caplog):
    settings.CATALOG_CLIP_MODEL = "no-such-net"
    scene = make_scene(1)
    queueing.on_scenes_changed([scene.pk])  # logs, does not raise
    assert "could not queue" in caplog.text
    assert not Job.objects.exists()


def test_prefork_pool_processes_split_the_cpus(monkeypatch):
    import os
    from types import SimpleNamespace

    import torch

    from embeddings import encoder
    from embeddings.tasks import _split_cpus_between_pool_processes

    monkeypatch.setattr(encoder, "_cpu_sharers", 1)
    threads = torch.get_num_threads()
    try:
        _split_cpus_between_pool_processes(SimpleNamespace(pool_cls="prefork", concurrency=2))
        encoder._set_cpu_threads()
        assert torch.get_num_threads() == max(1, len(os.sched_getaffinity(0)) // 2)
    finally:
        torch.set_num_threads(threads)
