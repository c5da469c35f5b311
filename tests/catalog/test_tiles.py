"""Map tiles: a scene touches every tile within the buffer of its track; the Hilbert
order walks from tile to neighbouring tile."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import geo
from catalog.proximity import Tracks
from catalog.tiles import hilbert_order, track_tiles, unwrapped_longitudes

METRES_PER_DEGREE = math.radians(1.0) * geo.EARTH_RADIUS_M


def tracks_of(points: list[list[tuple[float, float]]]) -> Tracks:
    owner = np.repeat(np.arange(len(points)), [len(p) for p in points])
    flat = [xy for p in points for xy in p]
    lat = np.array([xy[0] for xy in flat], dtype=float)
    lon = np.array([xy[1] for xy in flat], dtype=float)
    return Tracks(np.arange(len(points)) + 100, owner, lat, lon)


def test_the_hilbert_order_steps_to_a_neighbouring_tile():
    column, row = (a.ravel() for a in np.meshgrid(np.arange(-3, 13), np.arange(5, 21)))
    along = np.argsort(hilbert_order(column, row))
    assert sorted(hilbert_order(column, row).tolist()) == list(range(256))
    steps = np.abs(np.diff(column[along])) + np.abs(np.diff(row[along]))
    assert np.all(steps == 1)


@settings(max_examples=40, deadline=None)
@given(
    lat=st.floats(-79.0, 79.0),
    lon=st.floats(-179.0, 179.0),
    offsets=st.lists(
        st.tuples(
            st.floats(-1500, 1500),
            st.floats(-1500, 1500),
            st.floats(0, 2 * math.pi),
            st.floats(0, 29.9),
        ),
        min_size=1,
        max_size=15,
    ),
)
def test_a_point_outside_a_scenes_tiles_is_beyond_the_buffer(lat, lon, offsets):
    """Every point within the buffer of a scene's point lies in a tile the scene
    touches (brute force over every pair of points; each point has a twin up to 29.9 m
    away, so many tiles are crossed within the buffer)."""
    buffer_m, tile_m = 30.0, 400.0
    cos = math.cos(math.radians(lat))
    points = []
    for dy, dx, angle, r in offsets:
        for y, x in ((dy, dx), (dy + r * math.sin(angle), dx + r * math.cos(angle))):
            points.append((lat + y / METRES_PER_DEGREE, lon + x / (METRES_PER_DEGREE * cos)))
    tiles = track_tiles(tracks_of([[p] for p in points]), tile_m=tile_m, buffer_m=buffer_m)
    touched = {}
    for scene, tile in zip(tiles.pair_scene.tolist(), tiles.pair_tile.tolist(), strict=True):
        touched.setdefault(scene, set()).add(tile)
    assert set(touched) == set(range(len(points)))
    assert all(tiles.home[s] in touched[s] for s in touched)
    # Tiles as lat/lon cells: recover each point's own tile from the home tiles.
    for a, (lat_a, lon_a) in enumerate(points):
        for b, (lat_b, lon_b) in enumerate(points):
            near = geo.haversine_m(lat_a, lon_a, lat_b, lon_b) <= buffer_m
            if near:
                assert tiles.home[b] in touched[a]


def test_scenes_without_usable_points_have_no_tiles():
    tracks = tracks_of([[(35.6, 139.7)], [(float("nan"), 139.7)], [(85.0, 0.0)]])
    tiles = track_tiles(tracks, tile_m=1000.0, buffer_m=30.0)
    assert tiles.pair_scene.tolist() == [0]
    assert tiles.home.tolist()[1:] == [-1, -1]


def test_tiles_too_narrow_for_the_buffer_are_refused():
    with pytest.raises(ValueError):
        track_tiles(tracks_of([[(35.6, 139.7)]]), tile_m=60.0, buffer_m=30.0)
    # Near 80 degrees a buffer spans more longitude than at the median latitude.
    with pytest.raises(ValueError):
        track_tiles(tracks_of([[(0.0, 10.0)], [(79.9, 10.0)]]), tile_m=150.0, buffer_m=30.0)


def test_points_across_the_180th_meridian_are_neighbours():
    """11 m apart across the edge of the map: one tile, whatever side each is on."""
    east, west = (10.0, 179.99995), (10.0, -179.99995)
    others = [[(10.0, 179.5)], [(10.2, -179.5)], [(9.8, 179.9)]]
    tiles = track_tiles(tracks_of([[east], [west], *others]), tile_m=1000.0, buffer_m=30.0)
    touched = [set(tiles.pair_tile[tiles.pair_scene == s].tolist()) for s in (0, 1)]
    assert touched[0] & touched[1]
    assert np.ptp(unwrapped_longitudes(np.array([170.0, -170.0]))) == 20.0
    assert unwrapped_longitudes(np.array([139.7, 139.8])).tolist() == [139.7, 139.8]
