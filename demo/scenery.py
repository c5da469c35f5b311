"""The world a synthetic scene is rendered from: textures in one colour atlas, and actors.

The renderer never shades pixels one by one. Each world (the open road, or a tunnel) is a
flat `uint32` atlas of packed RGBA colours holding: the road surface as a texture over
(lateral metres, metres along the road), periodic along the road; building fronts (or
walls) on either side as textures over (metres along, height); the sky over (azimuth,
elevation); and the ego vehicle's own paint. Every texture exists at a few light levels
(haze, headlight pools), so a frame is one integer index per pixel and one gather.

Everything is drawn from `numpy.random.default_rng(seed)` in a fixed order: the same
seed and tags give the same world.
"""

import zlib
from dataclasses import dataclass

import numpy as np

NX, X_RES = 256, 6.0  # road texture: 256 columns of 1/6 m, +-21 m around the ego lane
NZ, A_RES = 1024, 4.0  # and 1024 rows of 1/4 m along: the world repeats every 256 m
PERIOD_M = NZ / A_RES
NA, NY = NZ, 160  # building fronts: same along-resolution, up to 40 m high
FRONT_TOP_M = NY / A_RES
NAZ, NEL = 256, 32  # sky: azimuth bins x elevation bins up to EL_MAX
EL_MAX = np.radians(40.0)
G_LEVELS, F_LEVELS = 3, 2
# Periodic axes are stored twice over (along the road, sky azimuth), so the renderer can
# add a wrapped offset to a wrapped coordinate without wrapping the sum per pixel.
G_BLOCK = NX * 2 * NZ
F_BLOCK = 2 * NA * NY
S_BLOCK = 2 * NAZ * NEL
G0 = 0
F0 = G0 + G_LEVELS * G_BLOCK
S0 = F0 + F_LEVELS * 2 * F_BLOCK
E0 = S0 + S_BLOCK  # ego paint: body, glass
ATLAS_SIZE = E0 + 2

WHITE = np.array([235.0, 235, 228])
YELLOW = np.array([235.0, 180, 40])


_RGB_TO_YUV = np.array(  # BT.601, video range: what an H.264 player assumes untagged
    [[0.257, 0.504, 0.098], [-0.148, -0.291, 0.439], [0.439, -0.368, -0.071]], np.float32
)
_YUV_OFFSET = np.array([16.0, 128.0, 128.0], np.float32)


def _yuv(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb, np.float32) @ _RGB_TO_YUV.T + _YUV_OFFSET


def pack(rgb: np.ndarray) -> np.ndarray:
    """Float RGB (..., 3) -> packed uint32 with bytes Y, U, V, 255.

    Colours are kept as the encoder wants them, so a frame needs no colour conversion:
    the gathered bytes are the Y plane, and U and V are averaged over 2x2 blocks.
    """
    c = np.clip(_yuv(rgb) + 0.5, 0, 255).astype(np.uint32)
    return c[..., 0] | (c[..., 1] << 8) | (c[..., 2] << 16) | np.uint32(0xFF000000)


class _Paint:
    """Paint by numbers: a texture is a label per texel into a short list of colours, so
    lighting levels, white balance and rain recolour the list, not every texel."""

    def __init__(self) -> None:
        self._colours: list[np.ndarray] = []
        self.size = 0

    def add(self, rgb) -> int:
        """Add one colour, or a row per building; returns the first label."""
        rows = np.atleast_2d(np.asarray(rgb, np.float32))
        first = self.size
        self._colours.append(rows)
        self.size += len(rows)
        return first

    def palette(self) -> np.ndarray:
        return np.concatenate(self._colours)


def _fill(block: np.ndarray, labels: np.ndarray, packed: np.ndarray) -> None:
    """Write a labelled texture into an atlas block whose second axis holds it twice."""
    texels = packed[labels]
    out = block.reshape(labels.shape[0], 2, *labels.shape[1:])
    out[:, 0] = texels
    out[:, 1] = texels


def _mix(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    return a * (1 - w) + np.asarray(b) * w


@dataclass(frozen=True, slots=True)
class Look:
    """Scene-wide appearance: when, what weather, what kind of road."""

    seed: int
    hour: int
    night: bool
    rain: bool
    highway: bool
    pedestrians: bool
    intersection: bool
    vehicle_id: str


@dataclass(slots=True)
class Layout:
    """Lateral road geometry in metres, ego lane centred on x = 0 (left-hand traffic)."""

    xl: float  # left road edge
    xm: float  # centre line / median (same-direction lanes lie in xl..xm)
    xr: float  # right road edge (oncoming lanes lie in xm..xr)
    lane_w: float
    d_left: float  # distance to the building fronts / walls
    d_right: float


@dataclass(slots=True)
class World:
    atlas: np.ndarray  # uint32 (ATLAS_SIZE,)
    heights: np.ndarray  # int32 (2 * 2 * NA,): front height per along-row, left then right
    d_left: float
    d_right: float
    lighting: str  # "day", "night" or "tunnel"


def make_layout(rng: np.random.Generator, look: Look) -> Layout:
    if look.highway:
        lane_w = 3.5
        same = int(rng.integers(2, 4))
        ego = int(rng.integers(0, same))
        xl = -lane_w / 2 - ego * lane_w
        xm = xl + same * lane_w
        return Layout(xl, xm, xm + 0.8, lane_w, -xl + rng.uniform(1.8, 3.0), xm + 0.6)
    lane_w = 3.2
    same = int(rng.integers(1, 3))
    ego = int(rng.integers(0, same))
    xl = -lane_w / 2 - ego * lane_w
    xm = xl + same * lane_w
    xr = xm + int(rng.integers(1, 3)) * lane_w
    walk = rng.uniform(2.5, 4.5)
    return Layout(xl, xm, xr, lane_w, -xl + walk + rng.uniform(0, 2), xr + walk + rng.uniform(0, 2))


def _palette_colour(rng: np.random.Generator, choices: list[tuple[float, float, float]]):
    base = np.array(choices[int(rng.integers(len(choices)))], float)
    return base + rng.normal(0, 12, 3)


BUILDING_COLOURS = [
    (200, 190, 170), (150, 150, 155), (120, 90, 70), (225, 225, 220), (110, 125, 145),
    (170, 80, 60), (90, 95, 100), (205, 170, 120), (160, 175, 165), (60, 70, 90),
]  # fmt: skip
GLASS_COLOURS = [(70, 90, 115), (110, 140, 160), (60, 70, 80), (120, 130, 110)]
SHOP_LIGHTS = [(255, 235, 190), (225, 240, 255), (255, 200, 150), (250, 250, 235)]
PAVING_COLOURS = [(170, 168, 160), (150, 120, 110), (185, 175, 150), (130, 130, 135)]
CAR_COLOURS = [
    (240, 240, 240), (30, 30, 35), (160, 165, 170), (170, 30, 35), (30, 60, 140),
    (90, 110, 90), (230, 200, 60), (200, 120, 40), (100, 100, 110), (60, 40, 30),
]  # fmt: skip


def _ground(rng: np.random.Generator, look: Look, lay: Layout, crossings: list[float]):
    """Road surface: labels (NX, NZ) over lateral x and along a, and their colours."""
    paint = _Paint()
    x = ((np.arange(NX) - NX / 2 + 0.5) / X_RES)[:, None]
    a = (np.arange(NZ) / A_RES)[None, :]
    asphalt = rng.uniform(65, 100) + rng.normal(0, 4, 3)
    if look.rain:
        asphalt *= 0.6
    # Blotches of 0.5 x 1 m at seven shades make motion visible without costing the
    # encoder much.
    shades = np.linspace(-6, 6, 7)[:, None]
    plain = paint.add(asphalt + shades)
    grain = np.clip(np.round(rng.normal(0, 2, (NX // 3 + 1, NZ // 4))) + 3, 0, 6)
    shade = np.repeat(np.repeat(grain.astype(np.int32), 3, axis=0)[:NX], 4, axis=1)
    surface = np.full((NX, NZ), plain, np.int32)
    if look.rain:  # puddles: smooth dark, slightly blue patches
        puddle = paint.add(asphalt + shades + np.array([-12, -12, -7]))
        blobs = np.sin(x * rng.uniform(0.3, 0.7) + 1.3) * np.sin(a * rng.uniform(0.1, 0.3))
        surface[np.broadcast_to(blobs > 0.6, (NX, NZ))] = puddle

    road = (x >= lay.xl) & (x <= lay.xr)
    if look.highway:
        surface[np.broadcast_to(~road, (NX, NZ))] = paint.add((asphalt + shades) * 0.85)
    labels = surface + shade
    if not look.highway:
        paving = _palette_colour(rng, PAVING_COLOURS) * (0.7 if look.rain else 1.0)
        tile = rng.uniform(0.6, 1.2)
        seams = ((x % tile) < 0.1) | ((a % tile) < 0.1)
        walk = np.broadcast_to(~road, (NX, NZ))
        labels[walk] = paint.add(paving)
        labels[walk & np.broadcast_to(seams, (NX, NZ))] = paint.add(paving * 0.8)
        curb = ((x > lay.xl - 0.25) & (x < lay.xl)) | ((x > lay.xr) & (x < lay.xr + 0.25))
        labels[np.broadcast_to(curb, (NX, NZ))] = paint.add(paving * 1.15)
    white, yellow = paint.add(WHITE), paint.add(YELLOW)

    def line(x0: float, label: int, dash: tuple[float, float] | None = None) -> None:
        mask = np.abs(x - x0) < 0.09
        if dash is not None:
            mask = mask & ((a % dash[0]) < dash[1])
        labels[np.broadcast_to(mask, (NX, NZ))] = label

    line(lay.xl + 0.2, white)
    dash = (16.0, 6.0) if look.highway else (8.0, 3.0)
    for k in range(1, round((lay.xm - lay.xl) / lay.lane_w)):
        line(lay.xl + k * lay.lane_w, white, dash)
    if look.highway:
        line(lay.xm - 0.2, yellow)
    else:
        line(lay.xm, yellow)
        for k in range(1, round((lay.xr - lay.xm) / lay.lane_w)):
            line(lay.xm + k * lay.lane_w, white, dash)
        line(lay.xr - 0.2, white)
        zebra_paint = paint.add(WHITE * 0.95)
        for at in crossings:  # zebra crossing and stop line at each junction
            ahead = (a - at) % PERIOD_M
            zebra = road & ((x - lay.xl) % 0.9 < 0.45) & (ahead < 4.0)
            stop = (x > lay.xl) & (x < lay.xm) & ((at - a) % PERIOD_M < 0.45) & (ahead > 4)
            labels[np.broadcast_to(zebra | stop, (NX, NZ))] = zebra_paint
    return labels, paint.palette()


def _fronts(rng: np.random.Generator, look: Look) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Building fronts or walls: labels (2, NA, NY), colours, heights (2, NA) in texels;
    left side first."""
    paint = _Paint()
    labels = np.empty((2, NA, NY), np.int32)
    heights = np.empty((2, NA), np.int32)
    y = np.arange(NY)[None, :]
    along = np.arange(NA)[:, None]
    table = rng.random((64, 64))
    for side in range(2):
        if look.highway:
            wall_h = round((rng.uniform(3.0, 4.5) if side == 0 else 1.0) * A_RES)
            grey = rng.uniform(150, 200) * np.array([1, 1, 0.97]) * (0.3 if look.night else 1.0)
            panel = paint.add([grey, grey * 0.7, grey * 0.6, grey * 0.42])  # +1 seam, +2 base
            lab = panel + ((along % 8) == 0) + 2 * (y < 2)
            if side == 1:  # reflector posts on the median barrier every 10 m
                lab = np.where((along % 40 < 2) & (y > 1) & (y < 4), paint.add(YELLOW), lab)
            labels[side] = lab
            heights[side] = wall_h
            continue
        widths = rng.integers(24, 100, size=64)
        starts = np.concatenate(([0], np.cumsum(widths)[:-1]))
        b = np.searchsorted(np.cumsum(widths), np.arange(NA), side="right")
        count = int(b.max()) + 1
        colour = np.array([_palette_colour(rng, BUILDING_COLOURS) for _ in range(count)])
        height = rng.integers(28, NY - 1, size=count)
        step_x = rng.integers(7, 15, size=count)
        win_x = np.maximum(3, (step_x * rng.uniform(0.45, 0.7, count)).astype(int))
        floor = rng.integers(12, 15, size=count)
        win_y = np.maximum(4, (floor * rng.uniform(0.45, 0.65, count)).astype(int))
        glass_tint = np.array(GLASS_COLOURS)[rng.integers(len(GLASS_COLOURS), size=count)]
        sign = rng.uniform(40, 255, (count, 3))
        shop = rng.choice(3, size=count, p=(0.5, 0.3, 0.2))  # glass, plain with door, shutter
        local = np.arange(NA) - starts[b]
        lb = b[:, None]
        window = ((local % step_x[b]) < win_x[b])[:, None] & ((y % floor[lb]) < win_y[lb])
        window &= y >= 16
        wall = colour * (0.18 if look.night else 1.0)
        lab = np.broadcast_to(paint.add(wall) + lb, (NA, NY)).copy()
        if look.night:
            shine = np.array(SHOP_LIGHTS)[rng.integers(len(SHOP_LIGHTS), size=count)]
            shine[rng.random(count) < 0.4] = (30.0, 30, 35)  # closed for the night
            display = paint.add(shine)
            lit = table[(local // step_x[b] + b * 7)[:, None] % 64, (y // floor[lb]) % 64]
            glass = np.where(
                lit < 0.12,
                paint.add((190, 215, 255)),
                np.where(lit < 0.4, paint.add((255, 215, 140)), paint.add(wall * 0.6) + lb),
            )
        else:
            display = paint.add(_mix(glass_tint, np.array([200.0, 205, 210]), 0.5))
            glass = paint.add(_mix(wall, glass_tint, 0.75)) + lb
        lab = np.where(window, glass, lab)
        ground_floor = y < 14
        store = ((shop[b] == 0) & (local % 16 >= 2))[:, None] & ground_floor & (y >= 1)
        lab[store] = (display + lb + np.zeros((1, NY), int))[store]
        door = ((shop[b] == 1) & (local % 24 >= 8) & (local % 24 < 12))[:, None] & (y < 9)
        lab[door] = paint.add((40, 35, 30))
        shutter_paint = paint.add(
            np.array([[165.0, 165, 160], [130, 130, 128]]) * (0.3 if look.night else 1.0)
        )
        shutter = (shop[b] == 2)[:, None] & ground_floor & (y >= 1)
        lab[shutter] = (shutter_paint + (y % 2 == 0) + np.zeros((NA, 1), int))[shutter]
        band = (y >= 14) & (y < 16) & np.ones((NA, 1), bool)
        lab[band] = (paint.add(sign) + lb + np.zeros((1, NY), int))[band]
        lab[local < 3] = (paint.add(wall * 0.3) + lb + np.zeros((1, NY), int))[local < 3]  # alleys
        labels[side] = lab
        heights[side] = height[b]
    palette = paint.palette()
    if look.rain:
        palette *= 0.75
    return labels, palette, heights


def _sky(rng: np.random.Generator, look: Look) -> tuple[np.ndarray, np.ndarray]:
    """Sky texture (NAZ, NEL, 3) with a distant skyline, and the horizon haze colour."""
    el = (np.arange(NEL) + 0.5) / NEL  # 0 at the horizon, 1 at EL_MAX
    hour = look.hour
    if look.night:
        horizon, zenith = np.array([55.0, 45, 50]), np.array([8.0, 10, 22])
    elif look.rain:
        horizon, zenith = np.array([165.0, 168, 172]), np.array([120.0, 124, 130])
    elif hour in (5, 6, 17, 18):
        horizon, zenith = np.array([245.0, 160, 100]), np.array([90.0, 90, 150])
    else:
        horizon, zenith = np.array([205.0, 220, 235]), np.array([80.0, 130, 210])
    horizon = horizon + rng.normal(0, 10, 3)
    zenith = zenith + rng.normal(0, 10, 3)
    sky = _mix(horizon[None, :], zenith[None, :], el[:, None] ** 0.7)
    tex = np.repeat(sky[None, :, :], NAZ, axis=0)
    az = np.arange(NAZ)[:, None]
    if not look.night:  # clouds: soft bands at random azimuths
        clouds = np.zeros((NAZ, NEL))
        for _ in range(int(rng.integers(2, 8))):
            c_az, c_el = rng.uniform(0, NAZ), rng.uniform(6, NEL - 4)
            d = ((az - c_az + NAZ / 2) % NAZ - NAZ / 2) / rng.uniform(6, 20)
            clouds += np.exp(-(d**2) - ((np.arange(NEL) - c_el) / rng.uniform(1.5, 4)) ** 2)
        white = np.array([200.0, 200, 205]) if look.rain else np.array([250.0, 250, 250])
        tex = _mix(tex, white, np.clip(clouds, 0, 0.85)[..., None])
    skyline_h = np.repeat(rng.integers(0, 5 if look.highway else 8, NAZ // 4), 4)
    far = _mix(horizon, np.array([60.0, 70, 85]), 0.5) * (0.35 if look.night else 1)
    below = np.arange(NEL)[None, :] < skyline_h[:, None]
    tex[below] = far
    if look.night:
        dots = below & (rng.random((NAZ, NEL)) < 0.05)
        tex[dots] = np.array([255.0, 200, 120])
    haze = _mix(horizon, far, 0.3)
    tex[:, 0] = haze
    return tex, haze


def _ego_paint(look: Look) -> np.ndarray:
    """The ego car's body colour is a property of the vehicle, not of the scene."""
    body = np.array(CAR_COLOURS[zlib.crc32(look.vehicle_id.encode()) % len(CAR_COLOURS)])
    glass = np.array([25.0, 30, 35])
    scale = 0.35 if look.night else (0.8 if look.rain else 1.0)
    return np.stack([body * scale, glass])


def build_world(
    rng: np.random.Generator, look: Look, lay: Layout, crossings: list[float], tunnel: bool
) -> World:
    ground, ground_palette = _ground(rng, look, lay, crossings)
    if tunnel:
        lighting = "tunnel"
        d_left, d_right = -lay.xl + 1.0, lay.xr + 1.0
        fronts, front_palette, heights, sky, haze = _tunnel(rng)
        ground_palette *= np.array([1.15, 1.0, 0.75], np.float32)  # sodium lamps
    else:
        lighting = "night" if look.night else "day"
        d_left, d_right = lay.d_left, lay.d_right
        fronts, front_palette, heights = _fronts(rng, look)
        sky, haze = _sky(rng, look)

    # White balance: light and camera differ from scene to scene; this also keeps scenes
    # apart for image models that see little but colour statistics.
    balance = np.exp(rng.normal(0, 0.1, 3)).astype(np.float32)
    ground_palette = ground_palette * balance
    front_palette = front_palette * balance
    if lighting == "night":  # dark; lit by the headlights; dark in the distance
        levels = [(0.35, 0.0), (0.91, np.array([20.0, 15, 0])), (0.17, 0.0)]
        front_levels = [(1.0, 0.0), (0.7, 0.0)]
    else:  # haze grows with distance
        levels = [(1.0, 0.0), (0.65, 0.35 * haze), (0.35, 0.65 * haze)]
        front_levels = [(1.0, 0.0), (0.5, 0.5 * haze)]
    atlas = np.empty(ATLAS_SIZE, np.uint32)
    for k, (gain, add) in enumerate(levels):
        block = atlas[G0 + k * G_BLOCK : G0 + (k + 1) * G_BLOCK]
        _fill(block, ground, pack(ground_palette * gain + add))
    for k, (gain, add) in enumerate(front_levels):
        block = atlas[F0 + 2 * k * F_BLOCK : F0 + 2 * (k + 1) * F_BLOCK]
        _fill(block.reshape(2, -1), fronts.reshape(2, NA * NY), pack(front_palette * gain + add))
    sky_packed = pack(sky * balance)
    atlas[S0:E0] = np.concatenate([sky_packed, sky_packed]).ravel()
    atlas[E0:] = pack(_ego_paint(look))
    d_left, d_right = round(d_left * 2) / 2, round(d_right * 2) / 2  # geometry cache keys
    return World(
        atlas, np.concatenate([heights, heights], axis=1).ravel(), d_left, d_right, lighting
    )


def _tunnel(rng: np.random.Generator):
    """Tiled walls with a row of orange lamps, under a dark ceiling."""
    tile = rng.uniform(160, 200) * np.array([1.0, 0.95, 0.8])
    palette = np.array([tile, tile * 0.35, [255.0, 170, 60]], np.float32)
    along = np.arange(NA)[:, None]
    y = np.arange(NY)[None, :]
    wall = np.where(y < 4, 1, 0) + np.zeros((NA, 1), np.int32)
    wall[(along % 16 < 5) & (y >= 17) & (y < 19)] = 2
    fronts = np.stack([wall, wall]).astype(np.int32)
    heights = np.full((2, NA), 20, np.int32)
    ceiling = rng.uniform(35, 55) * np.array([1.0, 0.9, 0.75])
    sky = np.broadcast_to(ceiling, (NAZ, NEL, 3)).copy()
    return fronts, palette, heights, sky, ceiling * 0.6
