import pytest

from embeddings import selectors, services
from embeddings.models import SceneEmbeddingState
from tests.embeddings.embed_support import expected_frames, tiny_model

pytestmark = pytest.mark.django_db


def test_scene_frames_list_camera_time_and_thumbnail(make_scene, media_dir):
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    frames = selectors.scene_frames(scene)
    assert len(frames) == expected_frames()
    assert frames[0] == {
        "camera": "front_wide",
        "t_s": 0.0,
        "thumbnail_uri": f"{media_dir.as_uri()}/thumbnails/{scene.scene_id}/front_wide/0.000.jpg",
    }
    assert [f["camera"] for f in frames] == sorted(f["camera"] for f in frames)


def test_scene_frames_of_an_unembedded_scene_are_empty(make_scene):
    assert selectors.scene_frames(make_scene(1)) == []


def test_embedding_state_of_a_scene_never_queued_is_pending(make_scene):
    state = selectors.scene_embedding_state(make_scene(1))
    assert state["state"] == "pending" and state["model"] == "test-tiny/untrained"


def test_embedding_state_reports_done_and_frames(make_scene, media_dir):
    scene = make_scene(1)
    services.scene_embed(scene_pk=scene.pk)
    state = selectors.scene_embedding_state(scene)
    assert (state["state"], state["frames"], state["stale"]) == ("done", expected_frames(), False)
    scene.content_sha256 = "d" * 64
    scene.save()
    assert selectors.scene_embedding_state(scene)["stale"] is True


def test_embedding_state_reports_the_error(make_scene):
    scene = make_scene(1)
    services.scene_embed_fail(scene_pk=scene.pk, model=tiny_model(), error="video missing")
    state = selectors.scene_embedding_state(scene)
    assert (state["state"], state["error"]) == ("failed", "video missing")


def test_backlog_counts_scenes_per_state(make_scene, media_dir):
    model = tiny_model()
    done, failed, running, _never = (make_scene(i) for i in range(4))
    services.scene_embed(scene_pk=done.pk)
    services.scene_embed_fail(scene_pk=failed.pk, model=model, error="x")
    SceneEmbeddingState.objects.create(scene=running, model=model, state="running")
    assert selectors.embedding_backlog() == {
        "model": "test-tiny/untrained",
        "pending": 1,
        "running": 1,
        "done": 1,
        "failed": 1,
        "total": 4,
    }
