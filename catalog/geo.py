"""Grid cells for the `near=lat,lon,radius_m` filter. Each scene stores the cells its 1 Hz
track visits (`Scene.track_cells`, GIN-indexed) and a query circle becomes a covering of
cells, so the index finds the scenes near a point and the exact haversine runs only where
the circle's edge passes. Pure functions: ingestion, the backfill migration and the filter
share them.

Cells are squares of a lat/lon degree grid at four levels: 0.001, 0.004, 0.016 and 0.064
degree. Every level is derived from the finest cell index by integer division, so a coarse
cell is exactly the union of its 4 x 4 children and floating-point rounding happens once,
when a point is placed in its finest cell. Ids are `level << 40 | lat_index << 20 |
lon_index`: indexes stay below 2**20 and levels below 4, so ids of different levels never
collide and every id fits a signed int64. Changing the grid changes the ids: the stored
cells of every scene must then be recomputed (as catalog migration 0004 did).

Why four levels a factor 4 apart (measured on 100,000 Tokyo scenes): the GIN scan and the
per-row overlap test both cost about (cells in the covering) x (cells of the row), and a
factor 4 covers a 1-2 km circle with half the cells a factor 10 needs, while a finer
finest level would multiply the cells of every row.
"""

import math
from collections.abc import Sequence

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # the radius of the SQL haversine (catalog.selectors)

FINE_CELLS_PER_DEGREE = 1000
LEVEL_SCALES = (1, 4, 16, 64)  # finest cells per side of a cell of level k
LEVEL_SHIFT = 40
LAT_SHIFT = 20
INDEX_MASK = (1 << LAT_SHIFT) - 1
LAT_CELLS = 180 * FINE_CELLS_PER_DEGREE
LON_CELLS = 360 * FINE_CELLS_PER_DEGREE
# Beyond a few hundred cells the overlap tests cost more per row than the haversine saves
# (count at 100,000 scenes: 300 cells ~ 1.4 km circle, faster; 450 ~ 2 km, slower).
DEFAULT_MAX_CELLS = 320
# Slack on every inside/outside decision. Float error in either haversine, and in placing
# a point in its cell, is below a micrometre; a wrong "inside" would be a wrong answer.
MARGIN_M = 0.01
# The nearest-point geometry in _classify needs every candidate cell within 90 degrees of
# longitude of the centre; wider circles are left to the caller's other path.
MAX_COVER_DLON_DEG = 60.0
MAX_TOP_LEVEL_CANDIDATES = 100_000

_LEVELS = tuple((level << LEVEL_SHIFT, scale) for level, scale in enumerate(LEVEL_SCALES))


def track_cells(lat: Sequence[float], lon: Sequence[float]) -> list[int]:
    """Sorted unique cell ids, at every level, of the track points (lat[i], lon[i]).

    Pass the track as stored (`Scene.track_lat`, `track_lon`): the covering's 1 cm margin
    absorbs rounding to 7 decimals, not more. Points outside lat -90..90 / lon -180..180,
    NaN and infinities included, are skipped. One track at a time (factories, the
    backfill); ingestion derives whole chunks with track_cells_rows.
    """
    fine = {
        (math.floor((la + 90.0) * FINE_CELLS_PER_DEGREE),
         math.floor((lo + 180.0) * FINE_CELLS_PER_DEGREE))
        for la, lo in zip(lat, lon, strict=True)
        if -90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0  # False for NaN
    }  # fmt: skip
    ids = {
        tag | (i // scale) << LAT_SHIFT | (j // scale) for i, j in fine for tag, scale in _LEVELS
    }
    return sorted(ids)


def track_cells_rows(
    lat: np.ndarray, lon: np.ndarray, points: np.ndarray | None = None
) -> list[list[int]]:
    """`track_cells` of each row of two (tracks x points) arrays, taking only the points
    where `points` is True (all by default). Ingestion derives a whole chunk of scenes at
    once, where this costs a fraction of track_cells per row; for one track, numpy's
    per-call overhead makes it ~10x slower than track_cells (factories, the backfill).
    Both are held to one reference in tests/catalog/test_geo.py."""
    with np.errstate(invalid="ignore"):
        # The points track_cells keeps (NaN compares False), edges included.
        kept = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    if points is not None:
        kept &= points
    rows_i = np.floor((np.where(kept, lat, 0.0) + 90.0) * FINE_CELLS_PER_DEGREE).astype(np.int64)
    rows_j = np.floor((np.where(kept, lon, 0.0) + 180.0) * FINE_CELLS_PER_DEGREE).astype(np.int64)
    ids = np.concatenate(
        [
            np.where(kept, tag | (rows_i // scale) << LAT_SHIFT | (rows_j // scale), -1)
            for tag, scale in _LEVELS
        ],
        axis=1,
    )
    ids.sort(axis=1)  # skipped points (-1) first, then each row's ids in order
    first = ids >= 0
    first[:, 1:] &= ids[:, 1:] != ids[:, :-1]
    return split_rows(ids[first].tolist(), first.sum(axis=1).tolist())


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distances in metres between points (degrees; numpy arrays broadcast),
    by the formula of the SQL `near` filter."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def fine_cell_index(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat index, lon index) of the finest cells (0.001 degree) holding the points."""
    i = np.floor((np.asarray(lat, dtype=np.float64) + 90.0) * FINE_CELLS_PER_DEGREE)
    j = np.floor((np.asarray(lon, dtype=np.float64) + 180.0) * FINE_CELLS_PER_DEGREE)
    return i.astype(np.int64), j.astype(np.int64)


def split_rows(flat: list, counts: list[int]) -> list[list]:
    """`flat` cut into consecutive lists of `counts[i]` items: how a masked numpy array's
    rows become lists with one `tolist()` call rather than one per row."""
    out, start = [], 0
    for count in counts:
        out.append(flat[start : start + count])
        start += count
    return out


def cell_bounds(cell: int) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a cell id, in degrees."""
    size = LEVEL_SCALES[cell >> LEVEL_SHIFT] / FINE_CELLS_PER_DEGREE
    i, j = (cell >> LAT_SHIFT) & INDEX_MASK, cell & INDEX_MASK
    return i * size - 90.0, j * size - 180.0, (i + 1) * size - 90.0, (j + 1) * size - 180.0


def cap_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float] | None:
    """(south, west, north, east) in degrees of a box holding every point within
    `radius_m` (haversine) of (lat, lon); None when no such box exists in plain lat/lon
    (the circle holds a pole or crosses the antimeridian)."""
    angle = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angle)
    if abs(lat) + dlat >= 90.0:
        return None
    # The meridians tangent to a circle of angular radius a around latitude phi are
    # asin(sin a / cos phi) from its centre; the padding absorbs rounding.
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat)))))
    dlat, dlon = dlat * (1 + 1e-9) + 1e-9, dlon * (1 + 1e-9) + 1e-9
    if lon - dlon <= -180.0 or lon + dlon >= 180.0:
        return None
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon


def near_cover(
    lat: float, lon: float, radius_m: float, max_cells: int = DEFAULT_MAX_CELLS
) -> tuple[list[int], list[int]] | None:
    """Cells covering the circle of `radius_m` (haversine) around (lat, lon), as sorted
    `(inner, boundary)` lists.

    Every point of an inner cell (of any level) is within the radius; boundary cells are of
    the finest level and may hold points on both sides of the circle. A point within the
    radius is in an inner or a boundary cell. None when the covering would take more than
    `max_cells` cells, or the circle reaches a pole or the antimeridian.
    """
    if not (math.isfinite(lat) and math.isfinite(lon) and math.isfinite(radius_m)):
        return None
    if radius_m <= 0 or abs(lat) > 90 or abs(lon) > 180:
        return None
    box = cap_box(lat, lon, radius_m + MARGIN_M)
    if box is None or box[3] - lon > MAX_COVER_DLON_DEG:
        return None
    south, west, north, east = box
    scale = LEVEL_SCALES[-1]
    rows = _index_range(south + 90.0, north + 90.0, scale)
    cols = _index_range(west + 180.0, east + 180.0, scale)
    if len(rows) * len(cols) > MAX_TOP_LEVEL_CANDIDATES:
        return None
    rows, cols = (grid.ravel() for grid in np.meshgrid(rows, cols, indexing="ij"))
    return _refine(_Circle(lat, lon, radius_m), rows, cols, max_cells)


class _Circle:
    """The query circle, with what every cell test needs precomputed."""

    def __init__(self, lat: float, lon: float, radius_m: float) -> None:
        self.lat = lat
        self.lon = lon
        self.cos_lat = math.cos(math.radians(lat))
        self.tan_lat = math.tan(math.radians(lat))
        self.inside_m = radius_m - MARGIN_M
        self.outside_m = radius_m + MARGIN_M


def _refine(
    circle: _Circle, rows: np.ndarray, cols: np.ndarray, max_cells: int
) -> tuple[list[int], list[int]] | None:
    # Coarse to fine: cells wholly inside are kept, cells the edge crosses split into their
    # children, cells wholly outside are dropped.
    inner: list[np.ndarray] = []
    inner_count = 0
    for level in range(len(LEVEL_SCALES) - 1, -1, -1):
        inside, crossed = _classify(circle, rows, cols, LEVEL_SCALES[level])
        inner.append(_cell_ids(level, rows[inside], cols[inside]))
        inner_count += len(inner[-1])
        rows, cols = rows[crossed], cols[crossed]
        # Each crossed cell leaves at least one cell of its own in the covering.
        if inner_count + len(rows) > max_cells:
            return None
        if level:
            rows, cols = _children(rows, cols, LEVEL_SCALES[level] // LEVEL_SCALES[level - 1])
    return sorted(np.concatenate(inner).tolist()), sorted(_cell_ids(0, rows, cols).tolist())


def _classify(
    circle: _Circle, rows: np.ndarray, cols: np.ndarray, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """(wholly inside, crossed by the edge) masks of the cells of `scale` at rows x cols."""
    size = scale / FINE_CELLS_PER_DEGREE
    south, north = rows * size - 90.0, (rows + 1) * size - 90.0
    west, east = cols * size - 180.0, (cols + 1) * size - 180.0
    near_dlon = np.maximum(np.maximum(west - circle.lon, circle.lon - east), 0.0)
    far_dlon = np.maximum(circle.lon - west, east - circle.lon)
    # At a fixed latitude distance grows with the longitude gap, so a cell's nearest point
    # is on its nearest meridian edge: the meridian's closest point to the centre, clamped
    # to the edge. Its farthest point is a corner of the far edge.
    closest = np.degrees(np.arctan(circle.tan_lat / np.cos(np.radians(near_dlon))))
    min_m = _haversine_m(circle, np.clip(closest, south, north), near_dlon)
    max_m = np.maximum(_haversine_m(circle, south, far_dlon), _haversine_m(circle, north, far_dlon))
    inside = max_m < circle.inside_m
    return inside, ~inside & (min_m <= circle.outside_m)


def _haversine_m(circle: _Circle, lat: np.ndarray, dlon: np.ndarray) -> np.ndarray:
    # The formula of the SQL filter, so both sides round alike.
    h = (
        np.sin(np.radians(lat - circle.lat) / 2) ** 2
        + circle.cos_lat * np.cos(np.radians(lat)) * np.sin(np.radians(dlon) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def _index_range(low_deg: float, high_deg: float, scale: int) -> np.ndarray:
    """Indexes of the cells of `scale` spanning [low_deg, high_deg] (degrees from -90/-180)."""
    first = math.floor(low_deg * FINE_CELLS_PER_DEGREE) // scale
    last = math.floor(high_deg * FINE_CELLS_PER_DEGREE) // scale
    return np.arange(max(first, 0), last + 1, dtype=np.int64)


def _children(rows: np.ndarray, cols: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.arange(ratio, dtype=np.int64)
    child_rows, child_cols = np.broadcast_arrays(
        rows[:, None, None] * ratio + offsets[None, :, None],
        cols[:, None, None] * ratio + offsets[None, None, :],
    )
    return child_rows.ravel(), child_cols.ravel()


def _cell_ids(level: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return (level << LEVEL_SHIFT) | (rows << LAT_SHIFT) | cols


# Slack, in degrees, on the box covering's inside/outside decisions: far above the float
# error of cell bounds and of placing a point in its cell (~1e-13 degree), far below any
# distance that matters (1e-9 degree is 0.1 mm).
BOX_MARGIN_DEG = 1e-9


def box_cover(
    min_lon: float,
    min_lat: float,
    max_lon: float,
    max_lat: float,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> tuple[list[int], list[int]] | None:
    """Cells covering the box, as sorted `(inner, boundary)` lists: every point of an
    inner cell (of any level) is in the box, boundary cells are crossed by its edge, and a
    point in the box is in an inner or a boundary cell. Boundary cells are of the finest
    level that keeps the covering within `max_cells` (a box's edge is long: a 0.1 degree
    box takes ~400 finest cells). None when even the coarsest covering takes more."""
    if not all(map(math.isfinite, (min_lon, min_lat, max_lon, max_lat))):
        return None
    if not (-180.0 <= min_lon <= max_lon <= 180.0 and -90.0 <= min_lat <= max_lat <= 90.0):
        return None
    eps = BOX_MARGIN_DEG
    top = len(LEVEL_SCALES) - 1
    rows = _index_range(min_lat + 90.0 - eps, max_lat + 90.0 + eps, LEVEL_SCALES[top])
    cols = _index_range(min_lon + 180.0 - eps, max_lon + 180.0 + eps, LEVEL_SCALES[top])
    if len(rows) * len(cols) > MAX_TOP_LEVEL_CANDIDATES:
        return None
    rows, cols = (grid.ravel() for grid in np.meshgrid(rows, cols, indexing="ij"))
    inner: list[np.ndarray] = []
    inner_count = 0
    boundary = None
    for level in range(top, -1, -1):
        size = LEVEL_SCALES[level] / FINE_CELLS_PER_DEGREE
        south, north = rows * size - 90.0, (rows + 1) * size - 90.0
        west, east = cols * size - 180.0, (cols + 1) * size - 180.0
        inside = (
            (south >= min_lat + eps) & (north <= max_lat - eps)
            & (west >= min_lon + eps) & (east <= max_lon - eps)
        )  # fmt: skip
        crossed = ~inside & (
            (north >= min_lat - eps) & (south <= max_lat + eps)
            & (east >= min_lon - eps) & (west <= max_lon + eps)
        )  # fmt: skip
        if inner_count + int(inside.sum()) + int(crossed.sum()) > max_cells:
            if boundary is None:
                return None
            break  # the previous level's crossed cells stay the boundary
        inner.append(_cell_ids(level, rows[inside], cols[inside]))
        inner_count += len(inner[-1])
        rows, cols = rows[crossed], cols[crossed]
        boundary = _cell_ids(level, rows, cols)
        if level:
            rows, cols = _children(rows, cols, LEVEL_SCALES[level] // LEVEL_SCALES[level - 1])
    return sorted(np.concatenate(inner).tolist()), sorted(boundary.tolist())
