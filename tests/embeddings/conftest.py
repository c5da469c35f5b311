"""Fixtures of the embeddings tests: scenes with real camera videos (`make_scene`), and the
registered test model with a populated vector collection (`model`, `populated`). Helpers
that are not fixtures live in `embed_support.py` and `search_support.py`."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from catalog import storage
from embeddings.models import EmbeddingModel
from tests.embeddings.embed_support import CAMERAS, DURATION_S, video_file
from tests.embeddings.search_support import TINY_DIM, add_vectors, analyze, ensure_model, unit
from tests.factories import SceneFactory


@pytest.fixture(scope="session")
def video_cache(tmp_path_factory) -> Path:
    """A folder of synthetic videos, written once per session (see `video_file`)."""
    return tmp_path_factory.mktemp("videos")


@pytest.fixture
def make_scene(video_cache):
    """`make_scene(seed, cameras=..., duration_s=..., base_uri=None)`: a Scene whose
    camera videos are real files (or S3 objects under `base_uri`)."""

    def make(seed: int = 0, *, cameras=CAMERAS, duration_s=DURATION_S, base_uri=None, **kw):
        videos = {}
        for i, camera in enumerate(cameras):
            local = video_file(video_cache, seed * 10 + i, duration_s=duration_s)
            if base_uri:
                uri = storage.join(base_uri, f"videos/{seed}/{camera}.mp4")
                storage.upload_file(local, uri, content_type="video/mp4")
                videos[camera] = uri
            else:
                videos[camera] = local.as_uri()
        sha = hashlib.sha256(repr((seed, sorted(videos.items()), duration_s)).encode())
        return SceneFactory(
            cameras=videos, duration_s=duration_s, content_sha256=sha.hexdigest(), **kw
        )

    return make


@pytest.fixture
def model() -> EmbeddingModel:
    """The configured test model, registered with its partial HNSW index."""
    return ensure_model()


@pytest.fixture
def populated(model):
    """40 scenes x 10 frames (front_wide and rear) of clustered vectors, odd ones at night."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, TINY_DIM))
    scenes = []
    for i in range(40):
        scene = SceneFactory(local_hour=22 if i % 2 else 9)
        vectors = unit(centres[i % 4] + rng.normal(scale=0.8, size=(10, TINY_DIM)))
        add_vectors(scene, model, vectors, ("front_wide", "rear"))
        scenes.append(scene)
    analyze()
    return scenes
