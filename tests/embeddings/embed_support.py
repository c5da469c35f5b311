"""Scenes with real (small, synthetic) camera videos for embedding tests: the helpers;
the fixtures `video_cache` and `make_scene` are in conftest.py."""

from pathlib import Path

from embeddings.models import EmbeddingModel
from tests.embeddings.videos import write_video

CAMERAS = ("front_wide", "rear")
DURATION_S = 8.0
FPS = 5


def video_file(folder: Path, seed: int, *, duration_s: float = DURATION_S) -> Path:
    """A cached synthetic video of scene `seed` (videos are reused across tests)."""
    path = folder / f"seed{seed}-{duration_s:g}s.mp4"
    if not path.exists():
        write_video(path, seed=seed, duration_s=duration_s, fps=FPS, gop=FPS)
    return path


def expected_frames(cameras=CAMERAS, duration_s=DURATION_S, hz=0.5) -> int:
    from embeddings.sampling import sample_times

    return len(cameras) * len(sample_times(duration_s, hz))


def tiny_model() -> EmbeddingModel:
    from embeddings.encoder import get_encoder
    from embeddings.services import embedding_model_ensure

    return embedding_model_ensure(get_encoder())
