"""The scenes-embedded hook: listeners hear of each scene once its vectors are committed,
and never of a scene whose embedding failed or was skipped."""

import pytest

from embeddings import hooks, services
from tests.embeddings.embed_support import tiny_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def listener(scene_pks, model_name):
        calls.append((list(scene_pks), model_name))

    hooks.register_scenes_embedded(listener)
    yield calls
    hooks._scenes_embedded.remove(listener)


def test_listeners_hear_of_a_scene_after_its_vectors_commit(
    make_scene, media_dir, heard, django_capture_on_commit_callbacks
):
    scene = make_scene(1)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        services.scene_embed(scene_pk=scene.pk)
        assert heard == []  # not before the commit
    for callback in pending:
        callback()
    assert heard == [([scene.pk], tiny_model().name)]


def test_a_scene_already_embedded_is_not_reported_again(
    make_scene, media_dir, heard, django_capture_on_commit_callbacks
):
    scene = make_scene(1)
    with django_capture_on_commit_callbacks(execute=True):
        services.scene_embed(scene_pk=scene.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.scene_embed(scene_pk=scene.pk).state == "skipped"
    assert len(heard) == 1


def test_a_failed_scene_is_not_reported(
    make_scene, media_dir, heard, django_capture_on_commit_callbacks, tmp_path
):
    scene = make_scene(1)
    scene.cameras = {"front_wide": (tmp_path / "missing.mp4").as_uri()}
    scene.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.scene_embed(scene_pk=scene.pk).state == "failed"
    assert heard == []


def test_a_failing_listener_never_fails_the_embedding(
    make_scene, media_dir, django_capture_on_commit_callbacks
):
    def broken(scene_pks, model_name):
        raise RuntimeError("listener bug")

    hooks.register_scenes_embedded(broken)
    try:
        scene = make_scene(1)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.scene_embed(scene_pk=scene.pk).state == "done"
    finally:
        hooks._scenes_embedded.remove(broken)
