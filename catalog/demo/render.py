"""Camera videos of a synthetic scene: numpy ray geometry, one atlas gather per frame, H.264.

`render_camera_video(scene, camera, dest)` renders one camera of one scene, where `scene`
is a manifest record (DESIGN §3: a dict, signal channels as lists or numpy arrays). What
the video shows depends only on the record's content: tags (night, rain, highway,
pedestrians, intersection, tunnel), start hour, vehicle, signals (speed moves the road,
steering bends it and turns the sky) and `extra.synthetic_seed` (layout and colours;
without it, a hash of `scene_id`). The same record gives a byte-identical file, and so do
two records that differ only in `scene_id` when they carry the same `synthetic_seed`:
that is how tests make twin videos.

Each camera is a pinhole on the ego car looking along its yaw. For every pixel the ray is
intersected, once per camera and world, with the ego body, the road plane and the two
building fronts; per frame only the distance travelled, the road's bend and the heading
change, so a frame is a few integer operations per pixel and one gather from the atlas.
"""

import math
import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import numpy as np

from catalog.demo import actors as act
from catalog.demo import scenery as sc

CAMERAS = (
    "front_wide",
    "front_narrow",
    "front_left",
    "front_right",
    "rear",
    "rear_left",
    "rear_right",
)
WIDTH, HEIGHT, FPS = 256, 144, 5
HORIZON = 0.45  # horizon row as a fraction of the image height
MAX_CURVATURE = 0.04  # the road-plane model bends too far beyond a 25 m radius
EGO_BOXES = (  # (x0, x1, y0, y1, z0, z1): lower body, then cabin (glass)
    (-0.9, 0.9, 0.3, 0.95, -2.3, 2.3),
    (-0.8, 0.8, 0.95, 1.45, -1.3, 0.9),
)
WHEELBASE_M, STEER_RATIO = 2.8, 15.0


@dataclass(frozen=True, slots=True)
class Rig:
    yaw_deg: float  # optical axis, clockwise from straight ahead
    fov_deg: float  # horizontal
    x: float  # mount position: metres right of centre, forward of centre, above ground
    z: float
    y: float


RIGS = {
    "front_wide": Rig(0, 100, 0.0, 1.05, 1.35),
    "front_narrow": Rig(0, 35, 0.0, 1.05, 1.35),
    "front_left": Rig(-60, 90, -1.0, 0.9, 1.05),
    "front_right": Rig(60, 90, 1.0, 0.9, 1.05),
    "rear": Rig(180, 110, 0.0, -2.0, 1.05),
    "rear_left": Rig(-130, 90, -1.0, -0.6, 1.05),
    "rear_right": Rig(130, 90, 1.0, -0.6, 1.05),
}


def video_path(scene_id: str, camera: str) -> str:
    """Where a camera's video lives, relative to the manifest."""
    return f"videos/{scene_id}/{camera}.mp4"


# -- per-camera geometry -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Geometry:
    """Per-pixel constants of one camera in one world; per frame, offsets are added."""

    rig: Rig
    f: float
    cx: float
    cy: float
    static: np.ndarray  # atlas index of pixels that never change (ego body)
    gpix: np.ndarray  # road-plane pixels (flat index)
    gbase: np.ndarray  # their atlas base: light level + wrapped distance ahead
    gx: np.ndarray  # lateral position in texels
    gz2h: np.ndarray  # (distance ahead)^2 / 2 in texels, for the road's bend
    fpix: np.ndarray  # building-front pixels
    fbase: np.ndarray  # atlas base: level, side, height, wrapped distance along
    fheight: np.ndarray  # index into World.heights (side, wrapped distance along)
    fyq: np.ndarray  # height of the pixel on the front, in texels
    fsky: np.ndarray  # the sky behind it, should the building be lower
    spix: np.ndarray  # sky pixels
    ssky: np.ndarray


def _ego_hit(o: tuple[float, float, float], d: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each ray to the ego car's body (slab test), and which box it hit."""
    best = np.full(d[0].shape, np.inf)
    which = np.zeros(d[0].shape, np.int32)
    for k, box in enumerate(EGO_BOXES):
        t_near = np.full(d[0].shape, -np.inf)
        t_far = np.full(d[0].shape, np.inf)
        for axis in range(3):
            lo, hi = box[2 * axis], box[2 * axis + 1]
            comp = np.where(np.abs(d[axis]) < 1e-9, 1e-9, d[axis])
            t1, t2 = (lo - o[axis]) / comp, (hi - o[axis]) / comp
            t_near = np.maximum(t_near, np.minimum(t1, t2))
            t_far = np.minimum(t_far, np.maximum(t1, t2))
        hit = (t_near <= t_far) & (t_near > 1e-4) & (t_near < best)
        best = np.where(hit, t_near, best)
        which = np.where(hit, k, which)
    return best, which


@lru_cache(maxsize=96)
def geometry(camera: str, width: int, height: int, d_left: float, d_right: float, lighting: str):
    rig = RIGS[camera]
    f = width / 2 / math.tan(math.radians(rig.fov_deg) / 2)
    cx, cy = width / 2, height * HORIZON
    u = (np.arange(width) + 0.5 - cx) / f
    down = ((np.arange(height) + 0.5 - cy) / f)[:, None] * np.ones((1, width))
    psi = math.radians(rig.yaw_deg)
    dx = np.broadcast_to(u * math.cos(psi) + math.sin(psi), (height, width))
    dz = np.broadcast_to(-u * math.sin(psi) + math.cos(psi), (height, width))
    horiz = np.hypot(dx, dz)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(down > 1e-6, rig.y / down, np.inf)
        t_face = np.where(
            dx > 1e-6,
            (d_right - rig.x) / dx,
            np.where(dx < -1e-6, (d_left + rig.x) / -dx, np.inf),
        )
    t_ego, ego_box = _ego_hit((rig.x, rig.y, rig.z), [dx, -down, dz])
    ego = t_ego < np.minimum(t_ground, t_face)
    face = ~ego & (t_face < t_ground) & (t_face * horiz < 220)
    ground = ~ego & ~face & (t_ground * horiz < 160)
    sky = ~ego & ~face & ~ground

    azq = (np.arctan2(dx, dz) % (2 * np.pi) / (2 * np.pi) * sc.NAZ).astype(np.int32) & (sc.NAZ - 1)
    elevation = np.arctan2(-down, horiz)
    elq = np.clip(elevation / sc.EL_MAX * sc.NEL, 0, sc.NEL - 1).astype(np.int32)
    sky_base = sc.S0 + elq

    gx = rig.x + t_ground * dx
    gz = rig.z + t_ground * dz
    dist = np.hypot(gx, gz)
    if lighting == "night":  # headlight pool ahead, tail-light glow behind, dark beyond
        lit = ((gz > 1.5) & (gz < 50) & (np.abs(gx) < 1.2 + 0.45 * gz)) | (
            (gz < -2.3) & (gz > -9) & (np.abs(gx) < 1.5)
        )
        g_level = np.where(lit, 1, np.where(dist > 50, 2, 0))
    else:
        g_level = np.where(dist < 45, 0, np.where(dist < 90, 1, 2))
    fy = rig.y - t_face * down
    fz = rig.z + t_face * dz
    f_level = (t_face * horiz > 80).astype(np.int32)
    f_side = (dx > 0).astype(np.int32)

    static = np.zeros(height * width, np.int32)
    static[ego.ravel()] = sc.E0 + ego_box[ego]
    g, fc, s = ground, face, sky
    g_along = np.round(gz[g] * sc.A_RES).astype(np.int64) & (sc.NZ - 1)
    f_along = np.round(fz[fc] * sc.A_RES).astype(np.int64) & (sc.NA - 1)
    fyq = np.clip(fy[fc] * sc.A_RES, 0, sc.NY - 1).astype(np.int64)
    f_block = (f_level[fc] * 2 + f_side[fc]) * sc.F_BLOCK
    return Geometry(
        rig=rig,
        f=f,
        cx=cx,
        cy=cy,
        static=static,
        gpix=np.flatnonzero(g),
        gbase=(sc.G0 + g_level[g] * sc.G_BLOCK + g_along).astype(np.int32),
        gx=(gx[g] * sc.X_RES + sc.NX / 2).astype(np.float32),
        gz2h=(gz[g] ** 2 / 2 * sc.X_RES).astype(np.float32),
        fpix=np.flatnonzero(fc),
        fbase=(sc.F0 + f_block + f_along * sc.NY + fyq).astype(np.int32),
        fheight=(f_side[fc] * 2 * sc.NA + f_along).astype(np.int32),
        fyq=fyq.astype(np.int32),
        fsky=(sky_base[fc] + azq[fc] * sc.NEL).astype(np.int32),
        spix=np.flatnonzero(s),
        ssky=(sky_base[s] + azq[s] * sc.NEL).astype(np.int32),
    )


def _indices(
    geo: Geometry, world: sc.World, sq: int, curv: float, hq: int, idx: np.ndarray
) -> np.ndarray:
    """Atlas index of every pixel after travelling sq/4 m, on a bend, turned by hq.

    `idx` starts as a copy of `geo.static`; every other pixel is overwritten each frame,
    so the same array serves all frames of the camera.
    """
    sq &= sc.NZ - 1
    sky_shift = (hq & (sc.NAZ - 1)) * sc.NEL
    xi = geo.gz2h * np.float32(-curv)
    xi += geo.gx
    xi = xi.astype(np.int32)
    np.maximum(xi, 0, out=xi)
    np.minimum(xi, sc.NX - 1, out=xi)
    xi *= 2 * sc.NZ
    xi += geo.gbase
    xi += sq
    idx[geo.gpix] = xi
    lower = geo.fyq >= world.heights[geo.fheight + sq]
    idx[geo.fpix] = np.where(lower, geo.fsky + sky_shift, geo.fbase + sq * sc.NY)
    idx[geo.spix] = geo.ssky + sky_shift
    return idx


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
    speed = np.maximum(_channel(signals, "speed_mps", n, 8.0), 0)[:n]
    steer = _channel(signals, "steering_angle_deg", n, 0.0)[:n]
    brake = _channel(signals, "brake", n, 0.0)[:n]
    fix = _channel(signals, "gnss_fix", n, 1.0)[:n]
    n = len(speed)
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
            count = width * height // 250
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


# -- actors -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Boxes:
    ok: np.ndarray  # (T, n) visible
    depth: np.ndarray  # (T, n)
    u0: np.ndarray
    u1: np.ndarray
    v0: np.ndarray
    v1: np.ndarray
    face: np.ndarray  # (T, n) 1 sees its back (tail lights), -1 its front, 0 its side


def _project(a: act.Actors, geo: Geometry, width: int, height: int) -> _Boxes:
    rig = geo.rig
    psi = math.radians(rig.yaw_deg)
    sin, cos = math.sin(psi), math.cos(psi)
    px = a.x[..., None] + a.hw[None, :, None] * np.array([-1, 1, 1, -1]) - rig.x
    pz = a.z[..., None] + a.hl[None, :, None] * np.array([-1, -1, 1, 1]) - rig.z
    zc = px * sin + pz * cos
    xc = px * cos - pz * sin
    depth = zc.min(axis=-1)
    zs = np.maximum(zc, 0.3)
    u = geo.cx + geo.f * xc / zs
    top = geo.cy + geo.f * (rig.y - (a.y0 + a.h))[None, :, None] / zs
    bottom = geo.cy + geo.f * (rig.y - a.y0)[None, :, None] / zs
    u0, u1 = np.floor(u.min(-1)), np.ceil(u.max(-1))
    v0, v1 = np.floor(top.min(-1)), np.ceil(bottom.max(-1))
    ok = a.shown & (depth > 0.3) & (u1 > 0) & (u0 < width) & (v1 > 0) & (v0 < height)
    ok &= (u1 - u0) < 3 * width
    rear = a.z - a.hl[None, :] * a.heading[None, :]  # the end that faces backwards
    front = a.z + a.hl[None, :] * a.heading[None, :]
    sees_back = np.where(a.heading[None, :] > 0, rig.z < rear, rig.z > rear)
    sees_front = np.where(a.heading[None, :] > 0, rig.z > front, rig.z < front)
    face = np.where(sees_back, 1, np.where(sees_front, -1, 0)) * (a.heading[None, :] != 0)
    return _Boxes(
        ok,
        depth,
        np.clip(u0, 0, width).astype(int),
        np.clip(u1, 0, width).astype(int),
        np.clip(v0, 0, height).astype(int),
        np.clip(v1, 0, height).astype(int),
        face,
    )


def _rgb(r: float, g: float, b: float) -> int:
    return int(sc.pack(np.array([r, g, b])))


TYRE, GLASS, SKIN, TROUSERS = (
    _rgb(20, 20, 22),
    _rgb(35, 45, 55),
    _rgb(215, 180, 150),
    _rgb(40, 40, 52),
)
LAMP_OFF, GREEN, RED, AMBER = (
    _rgb(45, 45, 45),
    _rgb(40, 230, 120),
    _rgb(255, 40, 30),
    _rgb(255, 170, 40),
)
TAIL_DAY, TAIL_NIGHT, HEAD_DAY, HEAD_NIGHT = (
    _rgb(160, 20, 20), _rgb(255, 60, 40), _rgb(210, 210, 200), _rgb(255, 255, 235),
)  # fmt: skip
STREET_LAMP = _rgb(255, 225, 160)


def _draw(img: np.ndarray, ctx: SceneRender, boxes: _Boxes, i: int) -> None:
    a, night = ctx.actors, ctx.look.night
    visible = np.flatnonzero(boxes.ok[i])
    if ctx.tunnel[i]:  # nothing stands on a tunnel's pavement
        visible = visible[a.heading[visible] != 0]
    for k in visible[np.argsort(-boxes.depth[i, visible], kind="stable")]:
        u0, u1, v0, v1 = boxes.u0[i, k], boxes.u1[i, k], boxes.v0[i, k], boxes.v1[i, k]
        if u1 <= u0 or v1 <= v0:
            continue
        kind, w, h = a.kind[k], u1 - u0, v1 - v0
        img[v0:v1, u0:u1] = a.colour[k]
        if kind == act.PERSON:
            img[v0 + h * 55 // 100 : v1, u0:u1] = TROUSERS
            img[v0 : v0 + max(1, h // 7), u0 + w // 4 : u1 - w // 4 or u1] = SKIN
        elif kind == act.POLE:
            if night:
                img[v0 : v0 + max(1, h // 25), max(0, u0 - 1) : u1 + 1] = STREET_LAMP
        elif kind == act.SIGNAL:
            lamp = (2 if ctx.red[i] else 0) if not ctx.braking[i] or ctx.red[i] else 1
            for j in range(3):
                colour = (GREEN, AMBER, RED)[j] if j == lamp else LAMP_OFF
                img[v0 + h // 4 : v1 - h // 4 or v1, u0 + j * w // 3 : u0 + (j + 1) * w // 3] = (
                    colour
                )
        else:
            if kind != act.TRUCK and h >= 3:
                glass_to = v0 + h * (30 if kind == act.BUS else 40) // 100
                img[
                    v0 + (h // 10 if kind == act.BUS else 0) : glass_to, u0 + w // 8 : u1 - w // 8
                ] = GLASS
            img[v1 - max(1, h // 8) : v1, u0:u1] = TYRE
            face = boxes.face[i, k]
            if face and w >= 3:
                if face > 0:
                    colour = TAIL_NIGHT if night or ctx.braking[i] else TAIL_DAY
                else:
                    colour = HEAD_NIGHT if night else HEAD_DAY
                lv0 = v0 + h * 55 // 100
                lv1 = lv0 + max(1, h // (6 if night else 9))
                lw = max(1, w // (4 if night else 6))
                img[lv0:lv1, u0 : u0 + lw] = colour
                img[lv0:lv1, u1 - lw : u1] = colour


def _to_yuv420(img: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Packed Y,U,V,255 pixels (h, w) -> planar yuv420p (h * 3 / 2, w), chroma averaged
    over 2x2 blocks; U and V are summed side by side in one uint32 (each sum < 2^16)."""
    h, w = img.shape
    out[:h] = img  # the cast keeps the low byte: Y
    uv = (img >> 8) & np.uint32(0x00FF00FF)
    acc = uv[0::2, 0::2] + uv[1::2, 0::2]
    acc += uv[0::2, 1::2]
    acc += uv[1::2, 1::2]
    acc += np.uint32(0x00020002)
    acc >>= 2
    out[h : h + h // 4] = acc.reshape(h // 4, w)
    out[h + h // 4 :] = (acc >> 16).reshape(h // 4, w)
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
    boxes = _project(ctx.actors, geos["open"], ctx.width, ctx.height)
    out = np.empty((ctx.height * 3 // 2, ctx.width), np.uint8)
    flat = np.empty(ctx.height * ctx.width, np.uint32)
    idx = {name: geo.static.copy() for name, geo in geos.items()}
    for i in range(len(ctx.sq)):
        name = "tunnel" if ctx.tunnel[i] else "open"
        world = ctx.worlds[name]
        _indices(geos[name], world, int(ctx.sq[i]), float(ctx.curv[i]), int(ctx.hq[i]), idx[name])
        world.atlas.take(idx[name], out=flat)
        img = flat.reshape(ctx.height, ctx.width)
        _draw(img, ctx, boxes, i)
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
            "preset": "superfast",
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
