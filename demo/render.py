"""Camera videos of a synthetic scene: numpy ray geometry, one atlas gather per frame, H.264.

`render_camera_video(scene, camera, dest)` renders one camera of one scene, where `scene`
is a manifest record (a dict of one manifest line's fields, signal channels as lists or
numpy arrays). What the video shows depends only on the record's content: tags (night,
rain, highway, pedestrians, intersection, tunnel), start hour, vehicle, signals (speed
moves the road, steering bends it and turns the sky) and `extra.synthetic_seed` (layout
and colours; without it, a hash of `scene_id`). The same record gives a byte-identical
file, and so do two records that differ only in `scene_id` when they carry the same
`synthetic_seed`: that is how tests make twin videos.

A frame is one index per pixel into the world's colour atlas (`scenery`), computed by the
camera's `View` (`cameras`), one gather, then the actors painted on top (`actors`). The
atlas holds Y, U, V bytes, so frames go to libx264 without a colour conversion.
"""

import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from demo import actors as act
from demo import scenery as sc
from demo.cameras import CAMERAS, RIGS, View, geometry

WIDTH, HEIGHT, FPS = 256, 144, 5
MAX_CURVATURE = 0.04  # the road-plane model bends too far beyond a 25 m radius
WHEELBASE_M, STEER_RATIO = 2.8, 15.0


def video_path(scene_id: str, camera: str) -> str:
    """Where a camera's video lives, relative to the manifest."""
    return f"videos/{scene_id}/{camera}.mp4"


# -- the scene as seen over time ----------------------------------------------------------


@dataclass(slots=True)
class SceneRender:
    look: sc.Look
    worlds: dict[str, sc.World]
    sq: np.ndarray  # per frame: distance travelled in 1/4 m
    curv: np.ndarray  # road bend in texels (x) per (z^2/2)
    hq: np.ndarray  # heading in sky-azimuth bins
    tunnel: np.ndarray  # per frame: inside a tunnel
    red: np.ndarray  # per frame: traffic signals show red
    braking: np.ndarray
    actors: act.Actors
    rain: list[np.ndarray]  # flat pixel indices of rain streaks, cycled over frames
    width: int
    height: int


def _channel(signals: Mapping, name: str, n: int, default: float) -> np.ndarray:
    raw = signals.get(name)
    if raw is None:
        return np.full(n, default)
    values = np.array([np.nan if v is None else v for v in raw] if isinstance(raw, list) else raw)
    return np.nan_to_num(values.astype(float), nan=default)


def _runs(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask & ~np.concatenate(([False], mask[:-1])))


def prepare(scene: Mapping, *, width: int = WIDTH, height: int = HEIGHT, fps: int = FPS):
    """Everything the cameras of one scene share: worlds, motion, actors, rain."""
    tags = set(scene.get("tags") or ())
    extra = scene.get("extra") or {}
    seed = extra.get("synthetic_seed")
    if not isinstance(seed, int):
        seed = zlib.crc32(str(scene["scene_id"]).encode())
    look = sc.Look(
        seed=seed,
        hour=datetime.fromisoformat(scene["start_time"]).hour,
        night="night" in tags,
        rain="rain" in tags,
        highway="highway" in tags,
        pedestrians="pedestrians" in tags,
        intersection="intersection" in tags,
        vehicle_id=str(scene.get("vehicle_id", "")),
    )
    signals = scene.get("signals") or {}
    hz = float(signals.get("hz") or 10)
    n = max(2, round(float(scene["duration_s"]) * hz))
    channels = [
        _channel(signals, name, n, default)
        for name, default in (
            ("speed_mps", 8.0), ("steering_angle_deg", 0.0), ("brake", 0.0), ("gnss_fix", 1.0)
        )
    ]  # fmt: skip
    n = max(1, min(n, *(len(c) for c in channels)))  # hand-written records may be short
    speed, steer, brake, fix = (c[:n] for c in channels)
    speed = np.maximum(speed, 0)
    curvature = np.tan(np.radians(steer) / STEER_RATIO) / WHEELBASE_M
    dist = np.concatenate(([0.0], np.cumsum(speed / hz)[:-1]))
    heading = np.concatenate(([0.0], np.cumsum(speed * curvature / hz)[:-1]))

    rng = np.random.default_rng(seed)
    layout = sc.make_layout(rng, look)
    dist = dist + rng.uniform(0, sc.PERIOD_M)
    crossings: list[float] = []
    if look.intersection and not look.highway:
        for i in list(_runs(speed < 0.05)) + list(_runs(np.abs(steer) > 60)):
            at = float(dist[i] + 3.0) % sc.PERIOD_M
            if all(abs((at - c + 128) % sc.PERIOD_M - 128) > 40 for c in crossings):
                crossings.append(at)
        if not crossings:
            crossings.append(float(dist[n // 2] + 25.0) % sc.PERIOD_M)
        crossings = crossings[:2]

    frames = max(1, round(float(scene["duration_s"]) * fps))
    t = np.arange(frames) / fps
    sample = np.minimum(np.round(t * hz).astype(int), n - 1)
    s = np.interp(t, np.arange(n) / hz, dist)
    in_tunnel = np.zeros(frames, bool)
    if "tunnel" in tags:
        in_tunnel = fix[sample] < 0.5 if (fix < 0.5).any() else np.ones(frames, bool)
    worlds = {"open": sc.build_world(rng, look, layout, crossings, tunnel=False)}
    if in_tunnel.any():
        worlds["tunnel"] = sc.build_world(rng, look, layout, crossings, tunnel=True)
    stopped = speed[sample] < 0.3
    actors = act.make_actors(rng, look, layout, t, s, stopped, crossings)
    rain = []
    if look.rain:
        for _ in range(3):
            count = width * height // 500  # sparse: every streak costs the encoder bits
            x0 = rng.uniform(0, width, count)
            y0 = rng.uniform(-8, height, count)
            k = np.arange(9)
            ys = (y0[:, None] + k[None, :]).astype(int)
            xs = (x0[:, None] + 0.3 * k[None, :]).astype(int)
            keep = (
                (ys >= 0)
                & (ys < height)
                & (xs < width)
                & (k[None, :] < rng.integers(4, 10, count)[:, None])
            )
            rain.append((ys * width + xs)[keep].astype(np.int32))
    return SceneRender(
        look=look,
        worlds=worlds,
        sq=np.round(s * sc.A_RES).astype(np.int32),
        curv=np.clip(curvature[sample], -MAX_CURVATURE, MAX_CURVATURE),
        hq=np.round(heading[sample] / (2 * np.pi) * sc.NAZ).astype(np.int32),
        tunnel=in_tunnel,
        red=stopped | (brake[sample] > 0.1),
        braking=brake[sample] > 0.05,
        actors=actors,
        rain=rain,
        width=width,
        height=height,
    )


def _to_yuv420(img: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Packed Y,U,V,A pixels (h, w) -> planar yuv420p (h * 3 / 2, w), chroma averaged
    over 2x2 blocks. U and V are summed side by side in one uint32: U in bits 0-9, V in
    bits 16-25 (a sum of four bytes fits in ten bits)."""
    h, w = img.shape
    out[:h] = img  # the cast keeps the low byte: Y
    uv = (img >> 8) & np.uint32(0xFF)
    uv |= img & np.uint32(0x00FF0000)
    acc = uv[0::2, 0::2] + uv[1::2, 0::2]
    acc += uv[0::2, 1::2]
    acc += uv[1::2, 1::2]
    acc += np.uint32(0x00020002)  # round to nearest
    out[h : h + h // 4] = (acc >> 2).reshape(h // 4, w)
    out[h + h // 4 :] = (acc >> 18).reshape(h // 4, w)
    return out


def render_frames(
    scene: Mapping, camera: str, *, width: int = WIDTH, height: int = HEIGHT, fps: int = FPS,
    prepared: SceneRender | None = None,
) -> Iterator[np.ndarray]:  # fmt: skip
    """The frames of one camera as planar yuv420p arrays (height * 3 / 2, width), the
    layout `av.VideoFrame.from_ndarray(..., format="yuv420p")` takes. Each array is
    reused for the next frame: copy it to keep it."""
    if camera not in RIGS:
        raise ValueError(f"unknown camera {camera!r}; cameras are {', '.join(CAMERAS)}")
    ctx = prepared or prepare(scene, width=width, height=height, fps=fps)
    if ctx.width % 4 or ctx.height % 4:
        raise ValueError("width and height must be multiples of 4")
    geos = {
        name: geometry(camera, ctx.width, ctx.height, w.d_left, w.d_right, w.lighting)
        for name, w in ctx.worlds.items()
    }
    boxes = act.project(ctx.actors, geos["open"], ctx.width, ctx.height)
    out = np.empty((ctx.height * 3 // 2, ctx.width), np.uint8)
    flat = np.empty(ctx.height * ctx.width, np.uint32)
    views = {name: View(geo, ctx.worlds[name]) for name, geo in geos.items()}
    for i in range(len(ctx.sq)):
        view = views["tunnel" if ctx.tunnel[i] else "open"]
        idx = view.indices(int(ctx.sq[i]), float(ctx.curv[i]), int(ctx.hq[i]))
        view.world.atlas.take(idx, out=flat)
        img = flat.reshape(ctx.height, ctx.width)
        act.draw(
            img, ctx.actors, boxes, i, night=ctx.look.night, tunnel=bool(ctx.tunnel[i]),
            red=bool(ctx.red[i]), braking=bool(ctx.braking[i]),
        )  # fmt: skip
        if ctx.rain:  # streaks: halfway to light grey, in luma and chroma alike
            drops = ctx.rain[i % len(ctx.rain)]
            flat[drops] = ((flat[drops] >> 1) & np.uint32(0x007F7F7F)) + np.uint32(0xFF404058)
        yield _to_yuv420(img, out)


def _encode(frames: Iterator[np.ndarray], dest: Path, width: int, height: int, fps: int) -> None:
    """H.264 in MP4, one keyframe per second and the index first, so browsers can seek
    and start playing before the download ends. One encoder thread keeps the bytes
    reproducible (and the process pool does the parallel work)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {
            "preset": "ultrafast",
            "crf": "30",
            "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0",
        }
        for i, planes in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    os.replace(partial, dest)


def render_camera_video(
    scene: Mapping, camera: str, dest: str | os.PathLike, *, width: int = WIDTH,
    height: int = HEIGHT, fps: int = FPS, prepared: SceneRender | None = None,
) -> Path:  # fmt: skip
    """Render one camera of `scene` (a manifest record) to an MP4 file at `dest`."""
    dest = Path(dest)
    frames = render_frames(scene, camera, width=width, height=height, fps=fps, prepared=prepared)
    _encode(frames, dest, width, height, fps)
    return dest


def render_scene_videos(
    scene: Mapping, out_dir: Path, *, cameras: tuple[str, ...] = CAMERAS, width: int = WIDTH,
    height: int = HEIGHT, fps: int = FPS,
) -> list[Path]:  # fmt: skip
    """Render every camera of `scene` to `out_dir/videos/<scene_id>/<camera>.mp4`."""
    ctx = prepare(scene, width=width, height=height, fps=fps)
    return [
        render_camera_video(
            scene, camera, out_dir / video_path(scene["scene_id"], camera), fps=fps, prepared=ctx
        )
        for camera in cameras
    ]
