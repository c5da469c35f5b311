"""The sampled frame nearest a moment: nearest in time, the front camera first."""

import numpy as np
import pytest

from embeddings.selectors import frames_at
from tests.curation.mining_support import look, mining_scene
from tests.embeddings.search_support import ensure_model, unit

pytestmark = pytest.mark.django_db


def test_nearest_frame_in_time_from_the_front_camera():
    model = ensure_model()
    frames = unit(np.random.default_rng(0).normal(size=(9, 64)))
    # Cameras take turns: frames at t = 0, 2, 4 s on each of three cameras.
    scene = mining_scene(frames=frames, cameras=("rear", "front_wide", "front_narrow"))
    [found] = frames_at(moments=[(scene.pk, 2.9)], model=model)
    assert (found["camera"], found["t_s"]) == ("front_wide", 2.0)
    assert np.allclose(found["vector"], frames[4], atol=1e-3)


def test_each_moment_gets_its_own_frame_and_scenes_without_vectors_none():
    model = ensure_model()
    scene = mining_scene(look(1))
    bare = mining_scene()
    found = frames_at(moments=[(scene.pk, 100.0), (bare.pk, 1.0), (scene.pk, 0.2)], model=model)
    assert [f and f["t_s"] for f in found] == [6.0, None, 0.0]


def test_only_the_cameras_asked_for():
    model = ensure_model()
    scene = mining_scene(look(1), cameras=("front_wide", "rear"))
    [found] = frames_at(moments=[(scene.pk, 0.0)], model=model, cameras=["rear"])
    assert found["camera"] == "rear"
