"""Scenes with real (small, synthetic) camera videos for embedding tests."""

import hashlib
from pathlib import Path

import pytest

from catalog import storage
from embeddings.models import EmbeddingModel
from tests.embeddings.videos import write_video
from tests.factories import SceneFactory

CAMERAS = ("front_wide", "rear")
DURATION_S = 8.0
FPS = 5


def video_file(folder: Path, seed: int, *, duration_s: float = DURATION_S) -> Path:
    """A cached synthetic video of scene `seed` (videos are reused across tests)."""
    path = folder / f"seed{seed}-{duration_s:g}s.mp4"
    if not path.exists():
        write_video(path, seed=seed, duration_s=duration_s, fps=FPS, gop=FPS)
    return path


@pytest.fixture(scope="session")
def video_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture
def make_scene(video_cache, tmp_path):
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


def expected_frames(cameras=CAMERAS, duration_s=DURATION_S, hz=0.5) -> int:
    from embeddings.sampling import sample_times

    return len(cameras) * len(sample_times(duration_s, hz))


def tiny_model() -> EmbeddingModel:
    from embeddings.encoder import get_encoder
    from embeddings.services import embedding_model_ensure

    return embedding_model_ensure(get_encoder())
