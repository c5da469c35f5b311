"""The moment that stands for a scene when no query picked one."""

import pytest

from embeddings.models import Frame
from embeddings.selectors import representative_frames
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


MEDIA = {}


@pytest.fixture(autouse=True)
def thumbnails(media_dir):
    # Media links are given only for files under the media folder.
    MEDIA["thumbnails"] = media_dir.as_uri() + "/thumbnails"


def frames(scene, *moments):
    for camera, t_s in moments:
        uri = f"{MEDIA['thumbnails']}/{camera}-{t_s}.jpg"
        Frame.objects.create(scene=scene, camera=camera, t_s=t_s, thumbnail_uri=uri)


def test_the_earliest_front_frame_stands_for_the_scene():
    scene = SceneFactory()
    frames(scene, ("rear", 0.0), ("front_narrow", 0.0), ("front_wide", 0.0), ("front_wide", 2.0))
    chosen = representative_frames(scene_pks=[scene.pk])[scene.pk]
    assert (chosen["camera"], chosen["t_s"]) == ("front_wide", 0.0)
    assert chosen["thumbnail_url"].startswith("/api/v1/media/")


def test_an_earlier_moment_wins_over_a_front_camera():
    scene = SceneFactory()
    frames(scene, ("front_wide", 2.0), ("rear", 0.0))
    chosen = representative_frames(scene_pks=[scene.pk])[scene.pk]
    assert (chosen["camera"], chosen["t_s"]) == ("rear", 0.0)


def test_asked_cameras_only():
    scene = SceneFactory()
    frames(scene, ("front_wide", 0.0), ("rear", 4.0))
    chosen = representative_frames(scene_pks=[scene.pk], cameras=["rear"])[scene.pk]
    assert (chosen["camera"], chosen["t_s"]) == ("rear", 4.0)


def test_each_scene_gets_its_own_and_unsampled_scenes_none():
    scenes = SceneFactory.create_batch(3)
    frames(scenes[0], ("front_wide", 0.0))
    frames(scenes[1], ("rear", 6.0))
    chosen = representative_frames(scene_pks=[s.pk for s in scenes])
    assert {pk: f["camera"] for pk, f in chosen.items()} == {
        scenes[0].pk: "front_wide",
        scenes[1].pk: "rear",
    }
