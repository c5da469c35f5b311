"""Frames sampled from camera videos at fixed times, and their JPEG thumbnails.

Decoding is the other big cost of embedding besides the model, so only what is needed
is decoded: one pass over the packets finds the keyframes, and before each sample time
the demuxer seeks to the keyframe before it unless decoding has already passed that
keyframe; only sampled frames are converted to RGB, and the conversion scales down in
swscale (C) straight to the size the model and the thumbnail need.
"""

import bisect
import contextlib
import io
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import av
from django.conf import settings
from PIL import Image

from catalog import storage

THUMBNAIL_WIDTH = 320
THUMBNAIL_QUALITY = 80
# Sampling decodes a frame or two after each seek: frame threading would decode frames
# ahead only to throw them away at the next seek (+60% CPU per sampled frame measured on
# 720p H.264), and the pipeline already decodes in parallel with the model and across
# cameras. AUTO/FRAME pay off only when decoding long stretches of every frame.
DECODER_THREADING = "NONE"


class VideoError(Exception):
    """A video is missing, unreadable or not decodable; the message names the URI."""


def sample_times(duration_s: float, hz: float) -> list[float]:
    """0, 1/hz, 2/hz ... strictly before the end (20 s at 0.5 Hz: 0, 2, ..., 18)."""
    if duration_s <= 0:
        return []
    count = math.ceil(duration_s * hz - 1e-9)
    return [round(i / hz, 3) for i in range(count)]


@contextlib.contextmanager
def local_video(uri: str) -> Iterator[Path]:
    """A local file with the video: the file itself, or a temporary copy of an S3 object
    (MP4 demuxing needs to seek, which an S3 stream cannot)."""
    if not storage.is_s3(uri):
        path = storage.local_path(uri)
        if not path.is_file():
            raise storage.StorageError(f"cannot read {uri}: no such file")
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="catalog-video-", suffix=Path(uri).suffix) as tmp:
        with storage.open_read(uri) as stream:
            try:
                shutil.copyfileobj(stream, tmp, 1 << 20)
            except OSError as exc:
                raise storage.StorageError(f"cannot read {uri}: {exc}") from exc
        tmp.flush()
        yield Path(tmp.name)


def iter_frames(
    path: Path, times: list[float], *, min_short_side: int = 0, uri: str | None = None
) -> Iterator[tuple[float, Image.Image]]:
    """`(t, image)` for each sample time the video reaches, in order.

    Each image is the first frame at or after `t` (within half a frame), scaled down so
    its short side is `min_short_side` (never up). Raises VideoError for a file that
    is not a decodable video.
    """
    name = uri or str(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{name}: no video stream")
            yield from _decode_at(container, container.streams.video[0], times, min_short_side)
    except av.FFmpegError as exc:
        raise VideoError(f"{name}: cannot decode video ({exc})") from exc


def _keyframe_times(container, stream, time_base: float, start_s: float) -> list[float]:
    """Times of the video's keyframes, from one pass over its packets (no decoding:
    about the cost of decoding one frame)."""
    times = [
        packet.pts * time_base - start_s
        for packet in container.demux(stream)
        if packet.is_keyframe and packet.pts is not None
    ]
    return sorted(times)


def _decode_at(container, stream, times, min_short_side):
    stream.thread_type = DECODER_THREADING
    time_base = float(stream.time_base)
    start_s = (stream.start_time or 0) * time_base
    tolerance = 0.5 / float(stream.average_rate or 30)
    keyframes = _keyframe_times(container, stream, time_base, start_s)
    frames = None
    position = -math.inf  # time of the last decoded frame
    for target in times:
        index = bisect.bisect_right(keyframes, target + tolerance) - 1
        keyframe = keyframes[index] if index >= 0 else -math.inf
        if frames is None or keyframe > position + tolerance:
            # Decoding forward would pass the keyframe before `target` anyway: jump there.
            container.seek(int((start_s + target) / time_base), backward=True, stream=stream)
            frames = container.decode(stream)
        for frame in frames:
            if frame.pts is None:
                continue
            position = frame.pts * time_base - start_s
            if position >= target - tolerance:
                yield target, _to_image(frame, min_short_side)
                break
        else:
            return  # the video ended before this sample time


def _to_image(frame, min_short_side: int) -> Image.Image:
    width, height = frame.width, frame.height
    scale = min_short_side / min(width, height) if min_short_side else 1.0
    if scale >= 1.0:
        return frame.to_image()
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    return frame.to_image(width=size[0], height=size[1], interpolation="AREA")


def working_short_side(model_image_size: int) -> int:
    """The short side a sampled frame needs: the model's input and the thumbnail's."""
    # A 16:9 thumbnail THUMBNAIL_WIDTH wide has a short side of 9/16 of it.
    return max(model_image_size, math.ceil(THUMBNAIL_WIDTH * 9 / 16))


def thumbnail_jpeg(image: Image.Image) -> bytes:
    if image.width > THUMBNAIL_WIDTH:
        height = max(1, round(image.height * THUMBNAIL_WIDTH / image.width))
        image = image.resize((THUMBNAIL_WIDTH, height), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def thumbnail_uri(scene_id: str, camera: str, t_s: float) -> str:
    """CATALOG_MEDIA_URI/thumbnails/<scene_id>/<camera>/<t>.jpg (one per moment)."""
    return storage.join(
        settings.CATALOG_MEDIA_URI,
        "thumbnails",
        quote(scene_id, safe="-_.~"),
        quote(camera, safe="-_.~"),
        f"{t_s:.3f}.jpg",
    )


def write_thumbnail(uri: str, image: Image.Image) -> None:
    storage.write_bytes(uri, thumbnail_jpeg(image), content_type="image/jpeg")
