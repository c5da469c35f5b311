"""Map tiles of tracks: which square tiles a scene's track touches, and an order of the
tiles that keeps neighbours together.

Tiles are cells of a latitude/longitude grid about `tile_m` wide (square at the tracks'
median latitude). A scene touches every tile within `buffer_m` of any of its 1 Hz
points: the box around a point is at least `buffer_m` wide in every direction (its
longitude span is taken at the highest latitude of the tracks, plus 10% for the
sphere), so a point outside every tile a scene touches is more than `buffer_m` from
each of that scene's points. Points beyond 80 degrees of latitude, and NaN points, are
not placed (as in `catalog.proximity`).

Longitudes are unwrapped first (`unwrapped_longitudes`), so a set that crosses the 180th
meridian is tiled as one map. `hilbert_order` numbers tiles along a Hilbert curve: a run
of consecutive tiles is a compact area, not a stripe across the map.
"""

import math
from dataclasses import dataclass

import numpy as np

from catalog import geo
from catalog.proximity import Tracks, usable_points

# The box around a point is this much wider than the distance it must cover.
LOOSE = 1.1


@dataclass(frozen=True)
class TrackTiles:
    """(scene, tile) pairs, each once: scene `pair_scene[i]` (an index into the tracks'
    pks) touches tile `pair_tile[i]`; tile t is column `column[t]`, row `row[t]`.
    `home[s]` is the tile of scene s's middle point, -1 for a scene with no point."""

    pair_scene: np.ndarray
    pair_tile: np.ndarray
    column: np.ndarray
    row: np.ndarray
    home: np.ndarray

    @property
    def tiles(self) -> int:
        return len(self.column)


def track_tiles(tracks: Tracks, *, tile_m: float, buffer_m: float) -> TrackTiles:
    """The tiles each scene touches (a ValueError if a point's box could span more
    than two columns or rows: tiles too narrow for the buffer at these latitudes)."""
    points = np.flatnonzero(usable_points(tracks))
    home = np.full(len(tracks.pks), -1, dtype=np.int64)
    if not len(points):
        empty = np.empty(0, np.int64)
        return TrackTiles(empty, empty, empty, empty, home)
    lat, owner = tracks.lat[points], tracks.owner[points]
    lon = unwrapped_longitudes(tracks.lon[points])
    metres_per_degree = math.radians(1.0) * geo.EARTH_RADIUS_M
    lat_step = tile_m / metres_per_degree
    lon_step = lat_step / max(math.cos(math.radians(float(np.median(lat)))), 1e-3)
    lat_pad = LOOSE * buffer_m / metres_per_degree
    top = min(89.999, float(np.abs(lat).max()) + lat_pad)
    lon_pad = lat_pad / max(math.cos(math.radians(top)), 1e-9)
    if 2 * lon_pad >= lon_step or 2 * lat_pad >= lat_step:
        raise ValueError(f"tiles of {tile_m:g} m are too narrow for a {buffer_m:g} m buffer here")
    # A box narrower than a tile touches at most the tiles of its corners; the middle
    # point of each scene's track gives its home tile.
    scenes, first, count = np.unique(owner, return_index=True, return_counts=True)
    middle = first + count // 2
    column = np.concatenate(
        [np.floor((lon + d) / lon_step) for d in (-lon_pad, -lon_pad, lon_pad, lon_pad)]
        + [np.floor(lon[middle] / lon_step)]
    ).astype(np.int64)
    row = np.concatenate(
        [np.floor((lat + d) / lat_step) for d in (-lat_pad, lat_pad, -lat_pad, lat_pad)]
        + [np.floor(lat[middle] / lat_step)]
    ).astype(np.int64)
    height = int(row.max() - row.min()) + 1
    keys, tile = np.unique((column - column.min()) * height + row - row.min(), return_inverse=True)
    boxes = 4 * len(points)
    home[scenes] = tile[boxes:]
    pairs = np.unique(np.tile(owner, 4) * len(keys) + tile[:boxes])
    return TrackTiles(
        pairs // len(keys),
        pairs % len(keys),
        keys // height + column.min(),
        keys % height + row.min(),
        home,
    )


def unwrapped_longitudes(lon: np.ndarray) -> np.ndarray:
    """Longitudes with the map's edge moved into the widest stretch without points, so
    that points on both sides of the 180th meridian are neighbours (a set that circles
    the globe keeps the edge at 180 degrees)."""
    ordered = np.unique(lon)
    if len(ordered) < 2:
        return lon
    gaps = np.diff(np.append(ordered, ordered[0] + 360.0))
    widest = int(np.argmax(gaps))
    if widest == len(ordered) - 1:  # the usual case: the widest gap spans the edge
        return lon
    edge = ordered[widest] + gaps[widest] / 2.0
    return (lon - edge) % 360.0


def hilbert_order(column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Each tile's place along a Hilbert curve over the tiles' bounding square."""
    if not len(column):
        return np.empty(0, np.int64)
    x, y = column - column.min(), row - row.min()
    side = 1 << max(1, int(max(x.max(), y.max())).bit_length())
    distance = np.zeros(len(x), dtype=np.int64)
    s = side // 2
    while s > 0:
        rx, ry = (x & s) > 0, (y & s) > 0
        distance += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        # Rotate the quadrant so that the curve continues where the last one ended.
        flip = ~ry & rx
        x, y = np.where(flip, side - 1 - x, x), np.where(flip, side - 1 - y, y)
        x, y = np.where(~ry, y, x), np.where(~ry, x, y)
        s //= 2
    return distance
