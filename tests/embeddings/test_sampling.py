import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog import storage
from embeddings import sampling
from tests.embeddings.embed_support import video_file
from tests.embeddings.videos import render_frame, write_video


def test_sample_times_start_at_zero_every_period():
    assert sampling.sample_times(20.0, 0.5) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_sample_count_follows_hz():
    assert len(sampling.sample_times(5.0, 2.0)) == 10
    assert sampling.sample_times(5.0, 2.0)[-1] == 4.5
    assert sampling.sample_times(0.0, 1.0) == []


def _diff(image: Image.Image, seed: int, t: float) -> float:
    ref = Image.fromarray(render_frame(seed, t)).resize(image.size)
    return float(np.abs(np.asarray(image, np.float32) - np.asarray(ref, np.float32)).mean())


def test_frames_are_those_at_the_sample_times(video_cache):
    path = video_file(video_cache, 3, duration_s=8.0)
    times = sampling.sample_times(8.0, 0.5)
    got = list(sampling.iter_frames(path, times))
    assert [t for t, _ in got] == [0, 2, 4, 6]
    for t, image in got:
        assert _diff(image, 3, t) < 6
    # the content really is that moment's: a second later the scene has moved on
    assert _diff(got[1][1], 3, 2.0) < _diff(got[1][1], 3, 3.0)


def test_sparse_samples_across_long_gops(tmp_path):
    path = write_video(tmp_path / "long-gop.mp4", seed=5, duration_s=12, fps=5, gop=25)
    got = list(sampling.iter_frames(path, [0.0, 5.0, 5.4, 11.0]))
    assert [t for t, _ in got] == [0.0, 5.0, 5.4, 11.0]
    for t, image in got:
        assert _diff(image, 5, round(t * 5) / 5) < 6


def test_b_frames_are_sampled_in_display_order(tmp_path):
    path = write_video(tmp_path / "bframes.mp4", seed=6, duration_s=8, fps=5, gop=10, bframes=2)
    got = list(sampling.iter_frames(path, [0.0, 1.4, 3.0, 7.6]))
    assert [t for t, _ in got] == [0.0, 1.4, 3.0, 7.6]
    for t, image in got:
        assert _diff(image, 6, t) < 6


def test_keyframes_are_found_without_decoding(tmp_path):
    import av

    path = write_video(tmp_path / "gop.mp4", seed=1, duration_s=4, fps=5, gop=5)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        found = sampling._keyframe_times(container, stream, float(stream.time_base), 0.0)
    assert found == [0.0, 1.0, 2.0, 3.0]


def test_times_past_the_end_are_dropped(video_cache):
    path = video_file(video_cache, 3, duration_s=8.0)
    assert [t for t, _ in sampling.iter_frames(path, [6.0, 9.0, 12.0])] == [6.0]


def test_frames_scale_down_to_the_needed_short_side(video_cache):
    path = video_file(video_cache, 3, duration_s=8.0)
    (_, image), *_ = sampling.iter_frames(path, [0.0], min_short_side=54)
    assert image.size == (96, 54)
    (_, full), *_ = sampling.iter_frames(path, [0.0], min_short_side=500)
    assert full.size == (192, 108)  # never scaled up


def test_a_corrupt_video_raises_video_error_naming_it(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(sampling.VideoError, match=r"s3://bucket/broken\.mp4"):
        list(sampling.iter_frames(path, [0.0], uri="s3://bucket/broken.mp4"))


def test_a_missing_local_video_is_a_storage_error(tmp_path):
    with (
        pytest.raises(storage.StorageError, match="no such file"),
        sampling.local_video((tmp_path / "gone.mp4").as_uri()),
    ):
        pass


def test_an_s3_video_is_read_through_a_temporary_file(s3, video_cache):
    uri = f"{s3}/videos/a.mp4"
    storage.upload_file(video_file(video_cache, 3, duration_s=8.0), uri)
    with sampling.local_video(uri) as path:
        assert [t for t, _ in sampling.iter_frames(path, [0.0, 4.0])] == [0.0, 4.0]
        kept = Path(path)
    assert not kept.exists()


def test_thumbnail_is_a_small_jpeg():
    data = sampling.thumbnail_jpeg(Image.new("RGB", (1280, 720), (10, 200, 30)))
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (320, 180)


def test_thumbnail_uri_layout(settings):
    settings.CATALOG_MEDIA_URI = "s3://media/catalog"
    assert (
        sampling.thumbnail_uri("veh-07_20261128T093000_003", "front_wide", 12.5)
        == "s3://media/catalog/thumbnails/veh-07_20261128T093000_003/front_wide/12.500.jpg"
    )
