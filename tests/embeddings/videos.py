"""Small synthetic camera videos for embedding tests and the embedding benchmark.

Each scene (a seed) has its own sky, road, lighting and a few moving boxes, so frames of
one scene resemble each other and frames of different scenes do not.
"""

import functools
from pathlib import Path

import av
import numpy as np


def render_frame(
    seed: int, t_s: float, width: int = 192, height: int = 108, noise: float = 0.0
) -> np.ndarray:
    """The RGB frame (height, width, 3) of scene `seed` at `t_s` seconds; `noise` adds
    sensor-like grain (standard deviation in levels), which raises the bitrate to a
    camera's and so the decoding cost (bench/embed.py)."""
    rng = np.random.default_rng(seed)
    light = rng.uniform(0.35, 1.0)
    sky = rng.integers(40, 255, 3)
    ground = rng.integers(30, 200, 3)
    horizon = int(height * rng.uniform(0.3, 0.6))
    frame = np.empty((height, width, 3), np.float32)
    frame[:horizon] = sky
    frame[horizon:] = ground
    # A road narrowing towards the horizon, with dashes moving at the scene's speed.
    rows = np.arange(horizon, height)
    half = (rows - horizon + 1) / (height - horizon) * width * rng.uniform(0.25, 0.5)
    centre = width * rng.uniform(0.35, 0.65)
    road = rng.integers(50, 120)
    speed = rng.uniform(2, 15)
    for row, hw in zip(rows, half, strict=True):
        lo, hi = int(max(centre - hw, 0)), int(min(centre + hw, width))
        frame[row, lo:hi] = road
        if int((row + t_s * speed * 4) / 6) % 2 == 0:
            frame[row, int(centre) - 1 : int(centre) + 1] = 230
    for _ in range(int(rng.integers(3, 7))):
        colour = rng.integers(0, 255, 3)
        w, h = int(rng.integers(8, 40)), int(rng.integers(6, 30))
        x0 = rng.uniform(0, width) + rng.uniform(-6, 6) * t_s
        y0 = int(rng.uniform(horizon - h / 2, height - h))
        x = int(x0 % (width + w)) - w
        frame[max(y0, 0) : y0 + h, max(x, 0) : max(x + w, 0)] = colour
    frame *= light
    if noise:
        bank = _grain(seed, width, height, noise)
        frame += bank[round(t_s * 1000) % len(bank)]
    return np.clip(frame, 0, 255).astype(np.uint8)


@functools.cache
def _grain(seed: int, width: int, height: int, noise: float) -> np.ndarray:
    """A few frames of grain, reused in turn (drawing fresh grain per frame is slow)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, noise, (7, height, width, 3)).astype(np.float32)


def write_video(
    path: Path,
    *,
    seed: int,
    duration_s: float = 20.0,
    fps: int = 10,
    width: int = 192,
    height: int = 108,
    gop: int = 10,
    noise: float = 0.0,
    crf: int = 28,
    bframes: int = 0,
) -> Path:
    """An H.264 MP4 of scene `seed` (a keyframe every `gop` frames; with `bframes`,
    frames are stored out of display order, as most camera encoders do)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if bframes:
            stream.codec_context.max_b_frames = bframes
            stream.options = {"preset": "veryfast", "crf": str(crf)}
        else:
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": str(crf)}
        for i in range(round(duration_s * fps)):
            image = render_frame(seed, i / fps, width, height, noise)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
