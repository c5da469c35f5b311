"""Everything standing on or beside the road, as boxes with per-frame positions.

Positions are in the ego vehicle's frame (x metres right, z metres forward), one row per
video frame, so each camera projects all of them for all frames in one numpy pass.
Cars in the ego's direction hover around a distance (traffic keeps pace); oncoming cars
stream past; pedestrians, lamp posts and signals are fixed to the world (or walk) and so
slide past at the ego's speed, just as the road texture does. Each is drawn as a few
flat rectangles (body, glass, tyres, lights; legs and head) over its projected box.
"""

import math
from dataclasses import dataclass

import numpy as np

from demo.cameras import Geometry
from demo.scenery import CAR_COLOURS, PERIOD_M, Layout, Look, pack

CAR, TRUCK, BUS, PERSON, POLE, SIGNAL = range(6)
CLOTHES = [(40, 40, 60), (150, 30, 30), (220, 220, 210), (30, 90, 60), (200, 160, 40), (80, 60, 50)]


@dataclass(slots=True)
class Actors:
    x: np.ndarray  # (T, n) lateral centre
    z: np.ndarray  # (T, n) longitudinal centre
    shown: np.ndarray  # (T, n) bool
    hw: np.ndarray  # (n,) half width (lateral)
    hl: np.ndarray  # (n,) half length (longitudinal)
    y0: np.ndarray  # (n,) bottom height
    h: np.ndarray  # (n,) height
    kind: np.ndarray  # (n,) int
    heading: np.ndarray  # (n,) +1 drives our way, -1 oncoming, 0 does not drive
    colour: np.ndarray  # (n,) packed uint32


def _wrap(z: np.ndarray, low: float, span: float) -> np.ndarray:
    return (z - low) % span + low


def make_actors(
    rng: np.random.Generator,
    look: Look,
    lay: Layout,
    t: np.ndarray,
    s: np.ndarray,
    stopped: np.ndarray,
    crossings: list[float],
) -> Actors:
    n_frames = len(t)
    xs, zs, shown, rows = [], [], [], []

    def add(x, z, size, kind, heading, colour, show=None):
        xs.append(np.broadcast_to(x, (n_frames,)))
        zs.append(np.broadcast_to(z, (n_frames,)))
        shown.append(np.ones(n_frames, bool) if show is None else show)
        rows.append((*size, kind, heading, colour))

    dim = 0.35 if look.night else 1.0
    same_lanes = round((lay.xm - lay.xl) / lay.lane_w)
    for lane in range(same_lanes):
        x = lay.xl + (lane + 0.5) * lay.lane_w
        z = rng.uniform(-70, -40)
        while z < 90:
            z += rng.uniform(14, 45)
            if abs(x) < 1 and abs(z) < 10:
                continue  # that is where the ego car is
            kind = int(rng.choice(3, p=(0.75, 0.18, 0.07)))
            size = {CAR: (0.9, 2.2, 1.45), TRUCK: (1.1, 3.5, 2.8), BUS: (1.25, 5.5, 3.0)}[kind]
            drift = rng.uniform(1, 5) * np.sin(
                2 * np.pi * t / rng.uniform(8, 25) + rng.uniform(0, 6)
            )
            colour = np.array(CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]) * dim
            add(x, z + drift, (*size[:2], 0.0, size[2]), kind, 1, pack(colour))
    if not look.highway:
        for lane in range(round((lay.xr - lay.xm) / lay.lane_w)):
            x = lay.xm + (lane + 0.5) * lay.lane_w
            for _ in range(int(rng.integers(1, 4))):
                z = _wrap(rng.uniform(0, 280) - s - rng.uniform(6, 13) * t, -120, 280)
                colour = np.array(CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]) * dim
                add(x, z, (0.9, 2.2, 0.0, 1.45), CAR, -1, pack(colour))

    pole_x = lay.xl - (1.2 if look.highway else 0.5)
    for k in range(8):
        z = _wrap(k * PERIOD_M / 8 + 3.0 - s, -PERIOD_M / 2, PERIOD_M)
        add(pole_x, z, (0.12, 0.12, 0.0, 8.0), POLE, 0, pack(np.array([110.0, 110, 115]) * dim))

    if look.pedestrians:
        for _ in range(int(rng.integers(6, 16))):
            left = rng.random() < 0.5
            x = lay.xl - rng.uniform(0.6, 2.5) if left else lay.xr + rng.uniform(0.6, 2.5)
            walk = rng.uniform(0.8, 1.5) * rng.choice((-1, 1))
            z = _wrap(rng.uniform(0, PERIOD_M) + walk * t - s, -PERIOD_M / 2, PERIOD_M)
            clothes = np.array(CLOTHES[int(rng.integers(len(CLOTHES)))]) * dim
            add(x, z, (0.25, 0.2, 0.0, rng.uniform(1.5, 1.85)), PERSON, 0, pack(clothes))
    for at in crossings:
        z_cross = _wrap(at + 2.0 - s, -PERIOD_M / 2, PERIOD_M)
        if look.pedestrians:  # people cross while the traffic waits
            width = lay.xr - lay.xl + 3
            for _ in range(int(rng.integers(2, 6))):
                x = lay.xl - 1.5 + (rng.uniform(0, width) + 1.3 * t * rng.choice((-1, 1))) % width
                clothes = np.array(CLOTHES[int(rng.integers(len(CLOTHES)))]) * dim
                add(x, z_cross + rng.uniform(-1.5, 1.5), (0.25, 0.2, 0.0, 1.7), PERSON, 0,
                    pack(clothes), stopped)  # fmt: skip
        z_sig = _wrap(at + 6.0 - s, -PERIOD_M / 2, PERIOD_M)
        add(lay.xl - 0.6, z_sig, (0.1, 0.1, 0.0, 5.0), POLE, 0, pack(np.array([90.0, 90, 95])))
        add(lay.xl + 1.0, z_sig, (0.65, 0.15, 4.6, 0.45), SIGNAL, 0, pack(np.array([20.0, 20, 22])))

    size = np.array([r[:4] for r in rows], float).reshape(-1, 4)
    return Actors(
        x=np.stack(xs, axis=1),
        z=np.stack(zs, axis=1),
        shown=np.stack(shown, axis=1),
        hw=size[:, 0],
        hl=size[:, 1],
        y0=size[:, 2],
        h=size[:, 3],
        kind=np.array([r[4] for r in rows], int),
        heading=np.array([r[5] for r in rows], int),
        colour=np.array([r[6] for r in rows], np.uint32),
    )


# -- drawing ------------------------------------------------------------------------------


@dataclass(slots=True)
class Boxes:
    ok: np.ndarray  # (T, n) visible
    depth: np.ndarray  # (T, n)
    u0: np.ndarray
    u1: np.ndarray
    v0: np.ndarray
    v1: np.ndarray
    face: np.ndarray  # (T, n) 1 sees its back (tail lights), -1 its front, 0 its side


def project(a: Actors, geo: Geometry, width: int, height: int) -> Boxes:
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
    return Boxes(
        ok,
        depth,
        np.clip(u0, 0, width).astype(int),
        np.clip(u1, 0, width).astype(int),
        np.clip(v0, 0, height).astype(int),
        np.clip(v1, 0, height).astype(int),
        face,
    )


def _rgb(r: float, g: float, b: float) -> int:
    return int(pack(np.array([r, g, b])))


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


def draw(
    img: np.ndarray, a: Actors, boxes: Boxes, i: int, *, night: bool, tunnel: bool,
    red: bool, braking: bool,
) -> None:  # fmt: skip
    """Paint frame i's visible actors, far to near, onto packed pixels (h, w)."""
    visible = np.flatnonzero(boxes.ok[i])
    if tunnel:  # nothing stands on a tunnel's pavement
        visible = visible[a.heading[visible] != 0]
    order = visible[np.argsort(-boxes.depth[i, visible], kind="stable")]
    # Plain Python ints from here: numpy scalars make this loop several times slower.
    rows = zip(
        boxes.u0[i, order].tolist(), boxes.u1[i, order].tolist(),
        boxes.v0[i, order].tolist(), boxes.v1[i, order].tolist(),
        boxes.face[i, order].tolist(), a.kind[order].tolist(), a.colour[order].tolist(),
        strict=True,
    )  # fmt: skip
    for u0, u1, v0, v1, face, kind, colour in rows:
        if u1 <= u0 or v1 <= v0:
            continue
        w, h = u1 - u0, v1 - v0
        img[v0:v1, u0:u1] = colour
        if kind == PERSON:
            img[v0 + h * 55 // 100 : v1, u0:u1] = TROUSERS
            img[v0 : v0 + max(1, h // 7), u0 + w // 4 : u1 - w // 4 or u1] = SKIN
        elif kind == POLE:
            if night:
                img[v0 : v0 + max(1, h // 25), max(0, u0 - 1) : u1 + 1] = STREET_LAMP
        elif kind == SIGNAL:
            lamp = 2 if red else (1 if braking else 0)  # amber while we brake for it
            for j in range(3):
                colour = (GREEN, AMBER, RED)[j] if j == lamp else LAMP_OFF
                img[v0 + h // 4 : v1 - h // 4 or v1, u0 + j * w // 3 : u0 + (j + 1) * w // 3] = (
                    colour
                )
        else:
            if kind != TRUCK and h >= 3:
                glass_to = v0 + h * (30 if kind == BUS else 40) // 100
                img[v0 + (h // 10 if kind == BUS else 0) : glass_to, u0 + w // 8 : u1 - w // 8] = (
                    GLASS
                )
            img[v1 - max(1, h // 8) : v1, u0:u1] = TYRE
            if face and w >= 3:
                if face > 0:
                    colour = TAIL_NIGHT if night or braking else TAIL_DAY
                else:
                    colour = HEAD_NIGHT if night else HEAD_DAY
                lv0 = v0 + h * 55 // 100
                lv1 = lv0 + max(1, h // (6 if night else 9))
                lw = max(1, w // (4 if night else 6))
                img[lv0:lv1, u0 : u0 + lw] = colour
                img[lv0:lv1, u1 - lw : u1] = colour
