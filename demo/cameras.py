"""The seven cameras: where they sit on the car, and what each pixel's ray hits.

Each camera is a pinhole looking along its yaw. For every pixel the ray is intersected,
once per camera and world, with the ego body, the road plane and the two building fronts
(or tunnel walls); what is left sees the sky. `View` then turns the distance travelled,
the road's bend and the heading change of a frame into one atlas index per pixel with a
few integer operations.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from demo import scenery as sc

CAMERAS = (
    "front_wide",
    "front_narrow",
    "front_left",
    "front_right",
    "rear",
    "rear_left",
    "rear_right",
)
HORIZON = 0.45  # horizon row as a fraction of the image height
EGO_BOXES = (  # (x0, x1, y0, y1, z0, z1): lower body, then cabin (glass)
    (-0.9, 0.9, 0.3, 0.95, -2.3, 2.3),
    (-0.8, 0.8, 0.95, 1.45, -1.3, 0.9),
)


@dataclass(frozen=True, slots=True)
class Rig:
    yaw_deg: float  # optical axis, clockwise from straight ahead
    fov_deg: float  # horizontal
    x: float  # mount position: metres right of centre, forward of centre, above ground
    z: float
    y: float


RIGS = {
    "front_wide": Rig(0, 100, 0.0, 1.5, 1.3),
    "front_narrow": Rig(0, 35, 0.0, 1.5, 1.3),
    "front_left": Rig(-60, 90, -1.0, 0.9, 1.05),
    "front_right": Rig(60, 90, 1.0, 0.9, 1.05),
    "rear": Rig(180, 110, 0.0, -2.25, 1.05),
    "rear_left": Rig(-130, 90, -1.0, -0.6, 1.05),
    "rear_right": Rig(130, 90, 1.0, -0.6, 1.05),
}


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


@dataclass(frozen=True, slots=True)
class _Rays:
    """What a camera's pixels see whatever the street: rays, road plane, ego body, sky."""

    f: float
    cx: float
    cy: float
    dx: np.ndarray  # (w,) ray direction per column: lateral, forward; `down` per row
    dz: np.ndarray
    down: np.ndarray  # (h, 1)
    horiz: np.ndarray  # (w,) horizontal length of the ray direction
    t_ground: np.ndarray  # (h, w) ray parameter where it meets the road plane
    near_ground: np.ndarray  # (h, w) bool: the road plane within 160 m
    ego: np.ndarray  # (h, w) bool: the car's own body
    static: np.ndarray  # (h * w,) atlas index of the body pixels
    gx: np.ndarray  # (h, w) road-plane hit: lateral, forward
    gz: np.ndarray
    g_level: dict[str, np.ndarray]  # lighting -> (h, w) light level of the road
    sky: np.ndarray  # (h, w) atlas index of the sky before turning


@lru_cache(maxsize=32)
def _rays(camera: str, width: int, height: int) -> _Rays:
    rig = RIGS[camera]
    f = width / 2 / math.tan(math.radians(rig.fov_deg) / 2)
    cx, cy = width / 2, height * HORIZON
    u = (np.arange(width) + 0.5 - cx) / f
    down = ((np.arange(height) + 0.5 - cy) / f)[:, None]
    psi = math.radians(rig.yaw_deg)
    dx = u * math.cos(psi) + math.sin(psi)
    dz = -u * math.sin(psi) + math.cos(psi)
    horiz = np.hypot(dx, dz)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(down > 1e-6, rig.y / down, np.inf) * np.ones((1, width))
    full = np.ones((height, width))
    t_ego, ego_box = _ego_hit((rig.x, rig.y, rig.z), [dx * full, -down * full, dz * full])
    ego = t_ego < t_ground  # the body is nearer than any building
    static = np.zeros(height * width, np.int32)
    static[ego.ravel()] = sc.E0 + ego_box[ego]

    gx = rig.x + t_ground * dx
    gz = rig.z + t_ground * dz
    dist = np.hypot(gx, gz)
    lit = (gz > 1.5) & (gz < 50) & (np.abs(gx) < 1.2 + 0.45 * gz)  # the headlights' pool
    night = np.where(lit, 1, np.where(dist > 50, 2, 0))
    day = np.where(dist < 45, 0, np.where(dist < 90, 1, 2))  # haze grows with distance

    azq = (np.arctan2(dx, dz) % (2 * np.pi) / (2 * np.pi) * sc.NAZ).astype(np.int32) & (sc.NAZ - 1)
    elevation = np.arctan2(-down, horiz)
    elq = np.clip(elevation / sc.EL_MAX * sc.NEL, 0, sc.NEL - 1).astype(np.int32)
    return _Rays(
        f=f,
        cx=cx,
        cy=cy,
        dx=dx,
        dz=dz,
        down=down,
        horiz=horiz,
        t_ground=t_ground,
        near_ground=t_ground * horiz < 160,
        ego=ego,
        static=static,
        gx=gx,
        gz=gz,
        g_level={"night": night, "day": day, "tunnel": day},
        sky=sc.S0 + elq + azq * sc.NEL,
    )


@lru_cache(maxsize=96)
def geometry(camera: str, width: int, height: int, d_left: float, d_right: float, lighting: str):
    """Per-pixel constants of `camera` in a street with building fronts (or walls)
    `d_left` and `d_right` metres from the ego lane's centre."""
    rig, r = RIGS[camera], _rays(camera, width, height)
    dx, dz = r.dx, r.dz
    with np.errstate(divide="ignore", invalid="ignore"):
        t_face = np.where(
            dx > 1e-6,
            (d_right - rig.x) / dx,
            np.where(dx < -1e-6, (d_left + rig.x) / -dx, np.inf),
        )  # per column
    fy = rig.y - t_face * r.down
    fz = rig.z + t_face * dz
    # Above the tallest possible building a front pixel is always sky.
    face = ~r.ego & (t_face < r.t_ground) & (t_face * r.horiz < 220) & (fy < sc.FRONT_TOP_M)
    ground = ~r.ego & ~face & r.near_ground
    sky = ~r.ego & ~face & ~ground

    f_level = (t_face * r.horiz > 80).astype(np.int64)
    f_side = (dx > 0).astype(np.int64)
    g, fc, s = ground, face, sky
    cols = np.nonzero(fc)[1]
    g_along = np.round(r.gz[g] * sc.A_RES).astype(np.int64) & (sc.NZ - 1)
    f_along = np.round(fz[cols] * sc.A_RES).astype(np.int64) & (sc.NA - 1)
    fyq = np.clip(fy[fc] * sc.A_RES, 0, sc.NY - 1).astype(np.int64)
    f_block = (f_level[cols] * 2 + f_side[cols]) * sc.F_BLOCK
    return Geometry(
        rig=rig,
        f=r.f,
        cx=r.cx,
        cy=r.cy,
        static=r.static,
        gpix=np.flatnonzero(g),
        gbase=(sc.G0 + r.g_level[lighting][g] * sc.G_BLOCK + g_along).astype(np.int32),
        gx=(r.gx[g] * sc.X_RES + sc.NX / 2).astype(np.float32),
        gz2h=(r.gz[g] ** 2 / 2 * sc.X_RES).astype(np.float32),
        fpix=np.flatnonzero(fc),
        fbase=(sc.F0 + f_block + f_along * sc.NY + fyq).astype(np.int32),
        fheight=(f_side[cols] * 2 * sc.NA + f_along).astype(np.int32),
        fyq=fyq.astype(np.int32),
        fsky=r.sky[fc].astype(np.int32),
        spix=np.flatnonzero(s),
        ssky=r.sky[s].astype(np.int32),
    )


CURVATURE_STEP = 1e-4  # bends closer than this look the same: 1/8 m at 50 m


class View:
    """One camera in one world: the index buffer, kept between frames, and the road
    texture columns for each bend seen so far (steering repeats itself a lot)."""

    def __init__(self, geo: Geometry, world: sc.World):
        self.geo, self.world = geo, world
        self.idx = geo.static.copy()
        self.columns: dict[int, np.ndarray] = {}
        self.last: tuple[int, int, int] | None = None

    def _road_columns(self, bend: int) -> np.ndarray:
        cols = self.columns.get(bend)
        if cols is None:
            geo = self.geo
            xi = (geo.gx - np.float32(bend * CURVATURE_STEP) * geo.gz2h).astype(np.int32)
            np.clip(xi, 0, sc.NX - 1, out=xi)
            xi *= 2 * sc.NZ
            xi += geo.gbase
            cols = self.columns[bend] = xi
        return cols

    def indices(self, sq: int, curv: float, hq: int) -> np.ndarray:
        """Atlas index of every pixel after travelling sq/4 m, on a bend, turned by hq.

        Pixels of the ego body never change; all others are rewritten when the state
        changes, so a car waiting at a light costs no index work at all.
        """
        geo, idx = self.geo, self.idx
        sq &= sc.NZ - 1
        hq &= sc.NAZ - 1
        bend = round(curv / CURVATURE_STEP)
        state = (sq, bend, hq)
        if state == self.last:
            return idx
        sky_shift = hq * sc.NEL
        idx[geo.gpix] = self._road_columns(bend) + sq
        lower = geo.fyq >= self.world.heights[geo.fheight + sq]
        idx[geo.fpix] = np.where(lower, geo.fsky + sky_shift, geo.fbase + sq * sc.NY)
        if self.last is None or self.last[2] != hq:
            idx[geo.spix] = geo.ssky + sky_shift
        self.last = state
        return idx
