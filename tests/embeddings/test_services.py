import json

import numpy as np
import pytest
from django.db import connection

from catalog import storage
from catalog.models import Job
from embeddings import services, vector_index
from embeddings.encoder import MODEL_CONFIG_DIR, ClipEncoder, register_model_configs
from embeddings.models import (
    EmbeddingModel,
    Frame,
    FrameEmbedding,
    SceneEmbedding,
    SceneEmbeddingState,
)
from tests.embeddings.embed_support import expected_frames, tiny_model

pytestmark = pytest.mark.django_db
State = SceneEmbeddingState.State


def counts(scene) -> tuple[int, int, int]:
    return (
        Frame.objects.filter(scene=scene).count(),
        FrameEmbedding.objects.filter(scene=scene).count(),
        SceneEmbedding.objects.filter(scene=scene).count(),
    )


def state_of(scene, model=None) -> SceneEmbeddingState:
    return SceneEmbeddingState.objects.get(scene=scene, model=model or tiny_model())


def test_embedding_a_scene_stores_one_vector_per_sampled_frame(make_scene, media_dir):
    scene = make_scene(1)
    outcome = services.scene_embed(scene_pk=scene.pk)
    n = expected_frames()
    assert outcome.state == State.DONE and outcome.frames == n
    assert counts(scene) == (n, n, 1)
    state = state_of(scene)
    assert state.state == State.DONE and state.content_sha256 == scene.content_sha256
    assert sorted(Frame.objects.filter(scene=scene).values_list("camera", "t_s"))[:2] == [
        ("front_wide", 0.0),
        ("front_wide", 2.0),
    ]


def test_scene_vector_is_the_normalised_mean_of_its_frames(make_scene, media_dir):
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    frames = np.array([e.embedding for e in FrameEmbedding.objects.filter(scene=scene)], np.float32)
    mean = frames.mean(axis=0)
    got = np.array(SceneEmbedding.objects.get(scene=scene).embedding, np.float32)
    np.testing.assert_allclose(got, mean / np.linalg.norm(mean), atol=2e-3)


def test_thumbnails_are_written_locally(make_scene, media_dir):
    scene = make_scene(2)
    services.scene_embed(scene_pk=scene.pk)
    frame = Frame.objects.get(scene=scene, camera="rear", t_s=4.0)
    assert frame.thumbnail_uri == (
        f"{media_dir.as_uri()}/thumbnails/{scene.scene_id}/rear/4.000.jpg"
    )
    assert (media_dir / "thumbnails" / scene.scene_id / "rear" / "4.000.jpg").read_bytes()[:2] == (
        b"\xff\xd8"
    )


def test_videos_and_thumbnails_on_s3(make_scene, s3, settings):
    settings.CATALOG_MEDIA_URI = f"{s3}/media"
    scene = make_scene(3, base_uri=s3)
    assert services.scene_embed(scene_pk=scene.pk).state == State.DONE
    uris = list(Frame.objects.filter(scene=scene).values_list("thumbnail_uri", flat=True))
    assert len(uris) == expected_frames()
    assert all(u.startswith(f"{s3}/media/thumbnails/{scene.scene_id}/") for u in uris)
    assert storage.read_bytes(uris[0])[:2] == b"\xff\xd8"


def test_embedding_twice_stores_no_duplicates(make_scene, media_dir):
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    before = (counts(scene), sorted(Frame.objects.filter(scene=scene).values_list("pk")))
    assert services.scene_embed(scene_pk=scene.pk, force=True).state == State.DONE
    assert (counts(scene), sorted(Frame.objects.filter(scene=scene).values_list("pk"))) == before


def test_an_embedded_unchanged_scene_is_skipped(make_scene, media_dir):
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    assert services.scene_embed(scene_pk=scene.pk).state == "skipped"
    assert state_of(scene).attempts == 1


def test_the_database_refuses_a_second_vector_for_a_frame(make_scene, media_dir):
    from django.db import IntegrityError, transaction

    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    existing = FrameEmbedding.objects.filter(scene=scene).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        FrameEmbedding.objects.create(
            frame=existing.frame,
            model=existing.model,
            scene=scene,
            camera=existing.camera,
            embedding=existing.embedding,
        )


def test_a_corrupt_video_fails_only_its_scene(make_scene, media_dir, tmp_path):
    good, bad, also_good = make_scene(1), make_scene(2), make_scene(3)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 50)
    bad.cameras = {**bad.cameras, "rear": broken.as_uri()}
    bad.save()
    outcomes = [services.scene_embed(scene_pk=s.pk).state for s in (good, bad, also_good)]
    assert outcomes == [State.DONE, State.FAILED, State.DONE]
    state = state_of(bad)
    assert "broken.mp4" in state.error and "cannot decode" in state.error
    assert counts(bad) == (0, 0, 0)


def test_a_missing_video_fails_its_scene_with_the_uri(make_scene, s3, settings):
    settings.CATALOG_MEDIA_URI = f"{s3}/media"
    scene = make_scene(4, cameras=("front_wide",))
    scene.cameras = {"front_wide": f"{s3}/videos/missing.mp4"}
    scene.save()
    assert services.scene_embed(scene_pk=scene.pk).state == State.FAILED
    assert f"{s3}/videos/missing.mp4" in state_of(scene).error


def test_missing_weights_fail_the_scene_saying_what_to_set(make_scene, media_dir, settings):
    settings.CATALOG_CLIP_CHECKPOINT = "/nonexistent/weights.pt"
    scene = make_scene(1)
    assert services.scene_embed(scene_pk=scene.pk).state == State.FAILED
    model = EmbeddingModel.objects.get(name="test-tiny/weights")
    assert "CATALOG_CLIP_CHECKPOINT" in state_of(scene, model).error


def test_only_configured_cameras_are_embedded(make_scene, media_dir, settings):
    settings.CATALOG_EMBED_CAMERAS = ["rear", "side_left"]
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    assert set(Frame.objects.filter(scene=scene).values_list("camera", flat=True)) == {"rear"}


def test_a_scene_without_selected_cameras_fails_clearly(make_scene, media_dir, settings):
    settings.CATALOG_EMBED_CAMERAS = ["side_left"]
    scene = make_scene(1)
    assert services.scene_embed(scene_pk=scene.pk).state == State.FAILED
    assert "no camera to embed" in state_of(scene).error


def test_a_changed_scene_is_re_embedded_replacing_its_frames(make_scene, media_dir):
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    old_vector = FrameEmbedding.objects.get(scene=scene, frame__t_s=0, camera="rear").embedding
    shorter = make_scene(7, cameras=("rear",), duration_s=4.0)  # new content, 2 moments
    scene.cameras, scene.duration_s = shorter.cameras, 4.0
    scene.content_sha256 = "f" * 64
    scene.save()
    assert services.scene_embed(scene_pk=scene.pk).state == State.DONE
    assert set(Frame.objects.filter(scene=scene).values_list("camera", "t_s")) == {
        ("rear", 0.0),
        ("rear", 2.0),
    }
    assert counts(scene) == (2, 2, 1)
    new_vector = FrameEmbedding.objects.get(scene=scene, frame__t_s=0, camera="rear").embedding
    assert not np.allclose(old_vector, new_vector)
    assert state_of(scene).content_sha256 == "f" * 64


@pytest.fixture
def second_encoder(tmp_path) -> ClipEncoder:
    """Another untrained model, 32-d, to embed the same scenes with."""
    config = json.loads((MODEL_CONFIG_DIR / "test-tiny.json").read_text())
    config["embed_dim"] = 32
    path = tmp_path / "test-tiny-32.json"
    path.write_text(json.dumps(config))
    import open_clip

    register_model_configs()
    open_clip.add_model_config(path)
    return ClipEncoder("test-tiny-32", "")


def _hnsw_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
            "'embeddings_frameembedding' AND indexdef LIKE '%%hnsw%%'"
        )
        return dict(cursor.fetchall())


def test_a_second_model_leaves_the_first_models_vectors_and_index(
    make_scene,
    media_dir,
    second_encoder,
):
    scene = make_scene(1)
    first = tiny_model()
    first_index = _hnsw_indexes()[vector_index.frame_index_name(first)]
    # (Registered up front: in one test transaction PostgreSQL refuses CREATE INDEX on
    # a table with rows whose deferred foreign-key checks are pending.)
    second = services.embedding_model_ensure(second_encoder)
    services.scene_embed(scene_pk=scene.pk)
    first_vectors = sorted(
        (e.frame_id, e.embedding) for e in FrameEmbedding.objects.filter(model=first)
    )
    assert services.scene_embed(scene_pk=scene.pk, model_name=second.name).state == State.DONE

    assert (second.name, second.dim) == ("test-tiny-32/untrained", 32)
    assert FrameEmbedding.objects.filter(model=second).count() == expected_frames()
    assert (
        sorted((e.frame_id, e.embedding) for e in FrameEmbedding.objects.filter(model=first))
        == first_vectors
    )
    indexes = _hnsw_indexes()
    assert indexes[vector_index.frame_index_name(first)] == first_index
    assert "halfvec(64)" in first_index and f"(model_id = {first.pk})" in first_index
    second_index = indexes[vector_index.frame_index_name(second)]
    assert "halfvec(32)" in second_index and f"(model_id = {second.pk})" in second_index
    assert state_of(scene, first).state == state_of(scene, second).state == State.DONE


def test_a_second_model_reuses_the_thumbnails(make_scene, media_dir, second_encoder):
    second = services.embedding_model_ensure(second_encoder)
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    for path in media_dir.rglob("*.jpg"):
        path.unlink()
    services.scene_embed(scene_pk=scene.pk, model_name=second.name)
    assert not list(media_dir.rglob("*.jpg"))


def test_registering_a_model_twice_keeps_one_row(second_encoder):
    a = services.embedding_model_ensure(second_encoder)
    b = services.embedding_model_ensure(second_encoder)
    assert a.pk == b.pk and EmbeddingModel.objects.filter(name=a.name).count() == 1


def test_finished_scenes_count_towards_their_job_once(make_scene, media_dir, tmp_path):
    model = tiny_model()
    good, bad = make_scene(1), make_scene(2)
    bad.cameras = {"front_wide": (tmp_path / "gone.mp4").as_uri()}
    bad.save()
    job = services.embedding_job_create(total=2, model=model, trigger="test")
    services.scenes_attach_to_job(scene_pks=[good.pk, bad.pk], model=model, job=job)
    services.scene_embed(scene_pk=good.pk)
    services.scene_embed(scene_pk=good.pk, force=True)  # a redelivered task
    job.refresh_from_db()
    assert (job.done, job.state) == (1, Job.State.RUNNING)
    services.scene_embed(scene_pk=bad.pk)
    job.refresh_from_db()
    assert (job.done, job.total, job.state) == (2, 2, Job.State.FAILED)
    assert job.result["failed"] == 1 and bad.scene_id in job.error


def test_a_scene_moved_to_a_newer_job_is_credited_to_the_old_one(make_scene, media_dir):
    model = tiny_model()
    scene = make_scene(1)
    old = services.embedding_job_create(total=1, model=model, trigger="ingest")
    services.scenes_attach_to_job(scene_pks=[scene.pk], model=model, job=old)
    new = services.embedding_job_create(total=1, model=model, trigger="command")
    services.scenes_attach_to_job(scene_pks=[scene.pk], model=model, job=new)
    services.scene_embed(scene_pk=scene.pk)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.done, old.state) == (1, Job.State.DONE)
    assert (new.done, new.state) == (1, Job.State.DONE)


def test_scenes_to_embed_are_the_unembedded_failed_and_changed(make_scene, media_dir):
    model = tiny_model()
    done, changed, failed, fresh = (make_scene(i) for i in range(4))
    for scene in (done, changed):
        services.scene_embed(scene_pk=scene.pk)
    services.scene_embed_fail(scene_pk=failed.pk, model=model, error="boom")
    changed.content_sha256 = "e" * 64
    changed.save()
    assert set(services.scenes_to_embed(model)) == {changed, failed, fresh}


def test_a_scene_whose_worker_keeps_dying_is_given_up(make_scene, media_dir):
    scene = make_scene(1)
    SceneEmbeddingState.objects.create(
        scene=scene, model=tiny_model(), state=State.RUNNING, attempts=services.MAX_ATTEMPTS
    )
    assert services.scene_embed(scene_pk=scene.pk).state == State.FAILED
    assert "attempts" in state_of(scene).error


def test_a_deleted_scene_is_gone_not_failed(make_scene, media_dir):
    scene = make_scene(1)
    pk = scene.pk
    scene.delete()
    assert services.scene_embed(scene_pk=pk).state == "gone"
