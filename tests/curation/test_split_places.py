"""Splits by place, without a database: no two scenes in different parts pass within
30 m, groups stay whole, the same seed gives the same parts, and on a fleet that drives
one city the parts still follow the fractions."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import geo
from catalog.proximity import PLACE_RADIUS_M, Tracks
from curation import split_places

METRES_PER_DEGREE = math.radians(1.0) * geo.EARTH_RADIUS_M
TOKYO = (35.6, 139.75)


def walks(rng, scenes: int, points: int, span_m: float, *, unplaced: float = 0.0) -> Tracks:
    """Random walks of 1 Hz points (10 m apart) from random starts in a span_m square;
    a share of the scenes have no usable point."""
    lat0, lon0 = TOKYO
    cos = math.cos(math.radians(lat0))
    start = rng.uniform(0, span_m, size=(scenes, 2))
    heading = rng.uniform(0, 2 * math.pi, size=scenes)[:, None] + np.cumsum(
        rng.normal(scale=0.3, size=(scenes, points)), axis=1
    )
    y = start[:, :1] + np.cumsum(10 * np.sin(heading), axis=1)
    x = start[:, 1:] + np.cumsum(10 * np.cos(heading), axis=1)
    lat = lat0 + y / METRES_PER_DEGREE
    lon = lon0 + x / (METRES_PER_DEGREE * cos)
    lat[rng.random(scenes) < unplaced] = np.nan
    owner = np.repeat(np.arange(scenes), points)
    return Tracks(np.arange(scenes) * 3 + 7, owner, lat.ravel(), lon.ravel())


def points_of(tracks: Tracks, scene: int) -> tuple[np.ndarray, np.ndarray]:
    mine = (tracks.owner == scene) & np.isfinite(tracks.lat)
    return tracks.lat[mine], tracks.lon[mine]


def closest_m(tracks: Tracks, a: int, b: int) -> float:
    lat_a, lon_a = points_of(tracks, a)
    lat_b, lon_b = points_of(tracks, b)
    if not len(lat_a) or not len(lat_b):
        return math.inf
    return float(
        geo.haversine_m(lat_a[:, None], lon_a[:, None], lat_b[None, :], lon_b[None, :]).min()
    )


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    scenes=st.integers(2, 60),
    groups=st.integers(1, 12),
    fractions=st.sampled_from([[0.5, 0.5], [0.8, 0.2], [0.6, 0.3, 0.1]]),
)
def test_parts_are_apart_groups_whole_and_repeatable(seed, scenes, groups, fractions):
    rng = np.random.default_rng(seed)
    tracks = walks(rng, scenes, points=12, span_m=600.0, unplaced=0.1)
    items = rng.permutation(tracks.pks)  # items in another order than the tracks
    group = rng.integers(groups, size=scenes)
    old = split_places.PLACE_TILE_M
    split_places.PLACE_TILE_M = 300.0  # many tiles, many borders
    try:
        result = split_places.place_parts(tracks, items, group, fractions, seed=seed)
        again = split_places.place_parts(tracks, items, group, fractions, seed=seed)
    finally:
        split_places.PLACE_TILE_M = old
    part = result.part
    assert np.array_equal(part, again.part)
    assert set(part.tolist()) <= set(range(-1, len(fractions)))
    assert (part == -1).sum() >= result.on_borders + result.group_elsewhere
    for g in range(groups):
        assert len(set(part[(group == g) & (part >= 0)].tolist())) <= 1
    track_of = {int(pk): i for i, pk in enumerate(tracks.pks)}
    kept = np.flatnonzero(part >= 0)
    for i in kept:
        for j in kept:
            if part[i] < part[j]:
                distance = closest_m(tracks, track_of[int(items[i])], track_of[int(items[j])])
                assert distance > PLACE_RADIUS_M


def test_a_city_wide_fleet_splits_near_the_fractions():
    """2,000 drives of 20 scenes wandering over 10 x 10 km: linking every pair that
    passes the same place would make one group; the areas keep 80 / 20 and leave out
    only the scenes on borders or across from the rest of their drive."""
    rng = np.random.default_rng(3)
    tracks = walks(rng, 40_000, points=20, span_m=10_000.0)
    # Scenes of a drive follow each other: drive d is 20 consecutive scenes, and each
    # starts where the last one ended.
    drives = 2_000
    group = np.repeat(np.arange(drives), 40_000 // drives)
    lat = tracks.lat.reshape(40_000, 20)
    lon = tracks.lon.reshape(40_000, 20)
    for k in range(1, 20):
        rows = np.arange(drives) * 20 + k
        lat[rows] += lat[rows - 1, -1:] - lat[rows, :1]
        lon[rows] += lon[rows - 1, -1:] - lon[rows, :1]
    tracks = Tracks(tracks.pks, tracks.owner, lat.ravel(), lon.ravel())
    result = split_places.place_parts(tracks, tracks.pks, group, [0.8, 0.2], seed=0)
    kept = np.bincount(result.part[result.part >= 0], minlength=2)
    assert abs(kept[1] / kept.sum() - 0.2) <= split_places.FIT_TOLERANCE + 0.01
    assert (result.part == -1).mean() < 0.35


def test_scenes_without_tracks_follow_their_group_and_fill_the_fractions():
    rng = np.random.default_rng(5)
    tracks = walks(rng, 100, points=5, span_m=500.0, unplaced=1.0)  # no usable point
    group = np.arange(100) // 4
    result = split_places.place_parts(tracks, tracks.pks, group, [0.75, 0.25], seed=1)
    assert (result.part >= 0).all() and result.on_borders == result.group_elsewhere == 0
    assert abs(np.bincount(result.part)[1] - 25) <= 4  # whole groups of 4
    for g in range(25):
        assert len(set(result.part[group == g].tolist())) == 1


def test_one_spot_for_every_scene_is_one_area():
    """Everything within one tile cannot be cut: one part takes it all, the others stay
    empty, and nothing is left out or fails."""
    lat, lon = TOKYO
    tracks = Tracks(np.arange(30), np.repeat(np.arange(30), 2), np.full(60, lat), np.full(60, lon))
    result = split_places.place_parts(tracks, tracks.pks, np.arange(30), [0.1] * 10, seed=0)
    assert len(set(result.part.tolist())) == 1 and result.part.min() >= 0


def test_resizing_the_areas_never_ends_worse_than_where_it_started():
    """A few long tracks: resized areas can put every scene on a border. The split
    keeps the best round, never an empty one after a round that kept scenes."""
    for trial in range(120):
        rng = np.random.default_rng(trial)
        scenes = int(rng.integers(1, 4))
        tracks = walks(rng, scenes, points=int(rng.integers(50, 400)), span_m=3000.0)
        group = np.arange(scenes)
        tiles = split_places._Tiles(tracks, tracks.pks, trial)
        first = split_places._resolve(tiles.places(np.array([0.5, 0.5])), group, [0.5, 0.5])
        final = split_places.place_parts(tracks, tracks.pks, group, [0.5, 0.5], seed=trial)
        assert (final.part >= 0).sum() or not (first.part >= 0).sum()
