import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from embeddings.encoder import ClipEncoder, EncoderUnavailable, get_encoder
from tests.embeddings.videos import render_frame

SEEDS = (0, 1, 4, 5, 6, 9)  # six synthetic scenes of different look


def frames(seed: int, times=(0.0, 1.0, 6.0)) -> list[Image.Image]:
    return [Image.fromarray(render_frame(seed, t)) for t in times]


@pytest.fixture(scope="module")
def tiny() -> ClipEncoder:
    return ClipEncoder("test-tiny", "")


def test_identity_names_architecture_and_weights(tiny):
    assert tiny.model_name == "test-tiny/untrained"
    assert ClipEncoder("ViT-B-32", "laion2b_s34b_b79k").model_name == "ViT-B-32/laion2b_s34b_b79k"


def test_dim_is_known_without_loading_weights():
    encoder = ClipEncoder("test-tiny", "")
    assert encoder.dim == 64
    assert ClipEncoder("ViT-B-32", "laion2b_s34b_b79k").dim == 512
    assert not encoder.loaded


def test_vectors_are_unit_length(tiny):
    images = tiny.encode_images(frames(0))
    texts = tiny.encode_text(["pedestrians crossing at night", "a truck"])
    assert images.shape == (3, 64) and texts.shape == (2, 64)
    assert images.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)


def test_identical_frames_score_one(tiny):
    a, b = tiny.encode_images([Image.fromarray(render_frame(3, 2.0))] * 2)
    assert float(a @ b) > 0.999


def test_frames_of_different_scenes_score_clearly_less(tiny):
    vectors = {seed: tiny.encode_images(frames(seed)) for seed in SEEDS}
    same = [float(v[i] @ v[j]) for v in vectors.values() for i in range(3) for j in range(i)]
    other = [
        float(vectors[a][i] @ vectors[b][j])
        for a in SEEDS
        for b in SEEDS
        if a < b
        for i in range(3)
        for j in range(3)
    ]
    assert min(same) > 0.9
    assert np.mean(other) < 0.5
    assert np.mean(other) < min(same) - 0.4


def test_each_frame_is_nearest_to_its_own_scene(tiny):
    vectors = np.concatenate([tiny.encode_images(frames(seed)) for seed in SEEDS])
    owner = np.repeat(np.arange(len(SEEDS)), 3)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    assert (owner[similarity.argmax(axis=1)] == owner).all()


def test_untrained_weights_are_identical_in_every_process(tiny):
    image = Image.fromarray(render_frame(2, 4.0))
    here = tiny.encode_images([image])[0]
    script = (
        "import sys, numpy as np; from PIL import Image;"
        "from embeddings.encoder import ClipEncoder;"
        "from tests.embeddings.videos import render_frame;"
        "v = ClipEncoder('test-tiny', '').encode_images([Image.fromarray(render_frame(2, 4.0))]);"
        "sys.stdout.write(','.join(map(repr, v[0].tolist())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    there = np.array([float(x) for x in out.stdout.split(",")], np.float32)
    np.testing.assert_allclose(here, there, atol=1e-6)


def test_load_runs_once_for_concurrent_callers(monkeypatch):
    import open_clip

    calls = []
    real = open_clip.create_model_and_transforms

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(open_clip, "create_model_and_transforms", counting)
    encoder = ClipEncoder("test-tiny", "")
    threads = [threading.Thread(target=encoder.load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and encoder.loaded


def test_weights_that_cannot_be_downloaded_say_what_to_set(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = ClipEncoder("ViT-B-32", "laion2b_s34b_b79k")
    with pytest.raises(EncoderUnavailable) as caught:
        encoder.encode_images([Image.new("RGB", (32, 32))])
    message = str(caught.value)
    assert "CATALOG_CLIP_CHECKPOINT" in message and "test-tiny" in message


def test_a_missing_checkpoint_file_is_named(tmp_path):
    encoder = ClipEncoder("test-tiny", "", checkpoint=str(tmp_path / "nope.pt"))
    with pytest.raises(EncoderUnavailable, match=r"nope\.pt"):
        encoder.load()


def test_checkpoint_file_loads_those_weights(tmp_path, tiny):
    import torch

    tiny.load()
    state = {k: v.clone() for k, v in tiny._model.state_dict().items()}
    state["visual.proj"] = torch.flip(state["visual.proj"], dims=[1])  # other weights
    path = tmp_path / "tiny-flipped.pt"
    torch.save(state, path)
    encoder = ClipEncoder("test-tiny", "", checkpoint=str(path))
    image = [Image.fromarray(render_frame(1, 0.0))]
    assert encoder.model_name == "test-tiny/tiny-flipped"
    np.testing.assert_allclose(
        encoder.encode_images(image)[0], tiny.encode_images(image)[0][::-1], atol=1e-5
    )


def test_get_encoder_follows_settings_and_is_shared(settings):
    assert get_encoder() is get_encoder()
    assert get_encoder().model_name == "test-tiny/untrained"
    settings.CATALOG_CLIP_MODEL, settings.CATALOG_CLIP_PRETRAINED = "ViT-B-32", "openai"
    assert get_encoder().model_name == "ViT-B-32/openai"
    assert not get_encoder().loaded


def test_unknown_architecture_is_unavailable():
    with pytest.raises(EncoderUnavailable, match="CATALOG_CLIP_MODEL"):
        _ = ClipEncoder("no-such-net", "").dim


def test_importing_the_app_loads_no_model():
    code = (
        "import sys; import embeddings.encoder, embeddings.services, embeddings.tasks;"
        "sys.exit(1 if 'open_clip' in sys.modules else 0)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings"}
    script = f"import django, os; os.environ.update({env!r}); django.setup(); {code}"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
