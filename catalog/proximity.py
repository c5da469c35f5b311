"""Scenes recorded at the same place: tracks that pass within a radius (30 m by default)
of each other. Two tracks pass within r when some 1 Hz point of one is within r
(haversine) of some 1 Hz point of the other - the points the `near` filter tests. At
speed v the points are v metres apart, so tracks that come within r only between two
samples can go unnoticed (at 20 m/s: tracks 20 m apart always match, 28 m apart may not).

No pairs of whole sets are compared: every point is placed in a cell of a grid whose
cells are one radius wide, and only points in the same or adjacent cells are measured
(haversine, `catalog.geo`). The work grows with the points that share a neighbourhood:
on a route driven a thousand times, a thousand tracks pass each spot and all their pairs
are genuinely close. Points beyond 80 degrees of latitude, and NaN points, are never
near anything; nor are points on either side of the 180th meridian to each other.
"""

import math
from dataclasses import dataclass

import numpy as np

from catalog import geo
from catalog.sql import binary_rows, id_array_literal

PLACE_RADIUS_M = 30.0
MAX_LATITUDE = 80.0
# Left points measured at once: bounds the candidate point pairs held in memory.
CHUNK_POINTS = 20_000


@dataclass(frozen=True)
class Tracks:
    """The track points of several scenes: point p belongs to scene `pks[owner[p]]`."""

    pks: np.ndarray
    owner: np.ndarray
    lat: np.ndarray
    lon: np.ndarray


def scene_tracks(scene_pks) -> Tracks:
    """The 1 Hz tracks of the scenes, in scene pk order (read in binary: 10^5 tracks
    of 20 points in ~0.7 s, where parsing their text takes ~2 s)."""
    rows = binary_rows(
        "SELECT id, track_lat, track_lon FROM catalog_scene WHERE id = ANY(%s::bigint[]) "
        "ORDER BY id",
        [id_array_literal(scene_pks)],
    )
    return tracks_of(rows)


def tracks_of(rows: list[tuple[int, list, list]]) -> Tracks:
    """Tracks from (pk, lats, lons) rows."""
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sizes = [min(len(r[1]), len(r[2])) for r in rows]
    owner = np.repeat(np.arange(len(rows)), sizes)
    lat = np.fromiter((x for r, n in zip(rows, sizes, strict=True) for x in r[1][:n]), np.float64)
    lon = np.fromiter((x for r, n in zip(rows, sizes, strict=True) for x in r[2][:n]), np.float64)
    return Tracks(pks, owner, lat, lon)


def close_track_pairs(
    left: Tracks, right: Tracks | None = None, *, radius_m: float = PLACE_RADIUS_M
) -> tuple[np.ndarray, np.ndarray]:
    """Scene pk pairs (a of left, b of right) whose tracks pass within `radius_m`, each
    pair once; with `right` None, the pairs within `left`, a < b."""
    inner = right is None
    right = left if inner else right
    left_points, right_points = (
        np.flatnonzero(usable_points(left)),
        np.flatnonzero(usable_points(right)),
    )
    top = max(
        float(np.abs(left.lat[left_points]).max(initial=0.0)),
        float(np.abs(right.lat[right_points]).max(initial=0.0)),
    )
    grid = _Grid(radius_m, top)
    keys = grid.keys(right.lat[right_points], right.lon[right_points])
    by_key = np.argsort(keys, kind="stable")
    keys, right_points = keys[by_key], right_points[by_key]
    # Left points cell by cell too: a chunk then spans few cells, each looked up once.
    if inner:
        left_points = right_points
    else:
        left_keys = grid.keys(left.lat[left_points], left.lon[left_points])
        left_points = left_points[np.argsort(left_keys, kind="stable")]
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for lo in range(0, len(left_points), CHUNK_POINTS):
        points = left_points[lo : lo + CHUNK_POINTS]
        a, b = grid.neighbours(grid.keys(left.lat[points], left.lon[points]), keys)
        lp, rp = points[a], right_points[b]
        if inner:
            # Each pair of points once, and never two points of one scene.
            keep = np.flatnonzero((lp < rp) & (left.owner[lp] != left.owner[rp]))
            lp, rp = lp[keep], rp[keep]
        # A cheap flat-earth test first (it only ever keeps more), haversine on the rest.
        dlat = left.lat[lp] - right.lat[rp]
        dlon = (left.lon[lp] - right.lon[rp]) * grid.min_cos
        maybe = np.flatnonzero(dlat * dlat + dlon * dlon <= grid.loose_squared)
        lp, rp = lp[maybe], rp[maybe]
        near = geo.haversine_m(left.lat[lp], left.lon[lp], right.lat[rp], right.lon[rp])
        close = near <= radius_m
        sa, sb = left.owner[lp[close]], right.owner[rp[close]]
        if inner:
            sa, sb = np.minimum(sa, sb), np.maximum(sa, sb)
            differ = sa != sb
            sa, sb = sa[differ], sb[differ]
        # One pair of scenes is usually met through many pairs of points.
        found.append(np.unique(sa * len(right.pks) + sb))
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.unique(np.concatenate(found))
    a, b = left.pks[pairs // len(right.pks)], right.pks[pairs % len(right.pks)]
    return (np.minimum(a, b), np.maximum(a, b)) if inner else (a, b)


def usable_points(tracks: Tracks) -> np.ndarray:
    """Points that can be placed: not NaN, within 80 degrees of latitude."""
    with np.errstate(invalid="ignore"):
        return (np.abs(tracks.lat) <= MAX_LATITUDE) & (np.abs(tracks.lon) <= 180.0)


class _Grid:
    """Cells of a lat/lon grid at least `radius_m` wide everywhere up to `max_abs_lat`
    (plus the radius): two points within the radius lie in the same or adjacent cells."""

    def __init__(self, radius_m: float, max_abs_lat: float) -> None:
        metres_per_degree = math.radians(1.0) * geo.EARTH_RADIUS_M
        lat = min(89.999, max_abs_lat + math.degrees(radius_m / geo.EARTH_RADIUS_M))
        self.lat_step = radius_m / metres_per_degree * (1 + 1e-9)
        self.min_cos = max(math.cos(math.radians(lat)), 1e-9)
        self.lon_step = min(360.0, self.lat_step / self.min_cos)
        # In degrees of latitude, squared: points within the radius are within this
        # (with the smallest cosine over the cells and 10% for the sphere) - a loose bound.
        self.loose_squared = (1.1 * self.lat_step) ** 2
        self.columns = math.ceil(360.0 / self.lon_step) + 3

    def keys(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        i = np.floor((lat + 90.0) / self.lat_step).astype(np.int64)
        j = np.floor((lon + 180.0) / self.lon_step).astype(np.int64) + 1
        return i * self.columns + j

    def neighbours(self, wanted: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into wanted, index into sorted keys) of every pair of points in the
        same or adjacent cells."""
        offsets = np.array([di * self.columns + dj for di in (-1, 0, 1) for dj in (-1, 0, 1)])
        # Looked up once per cell, not once per point (a cell holds several points).
        cells, cell_of = np.unique(wanted, return_inverse=True)
        around = (cells[:, None] + offsets[None, :]).ravel()
        cell_starts = np.searchsorted(keys, around, "left").reshape(len(cells), len(offsets))
        cell_ends = np.searchsorted(keys, around, "right").reshape(len(cells), len(offsets))
        starts = cell_starts[cell_of].ravel()
        counts = cell_ends[cell_of].ravel() - starts
        left = np.repeat(np.repeat(np.arange(len(wanted)), len(offsets)), counts)
        first = np.repeat(starts - np.cumsum(counts) + counts, counts)
        return left, first + np.arange(counts.sum())
