"""Tracks that pass within 30 m: known answers, and the grid never misses a pair that a
comparison of every point with every point finds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import geo, proximity

pytestmark = pytest.mark.django_db

METRES_PER_DEGREE = math.radians(1.0) * geo.EARTH_RADIUS_M


def track(lat0: float, lon0: float, points: int = 20, step_m: float = 10.0, north_m: float = 0.0):
    """A track heading east at `step_m` per second, `north_m` north of (lat0, lon0)."""
    lat = lat0 + north_m / METRES_PER_DEGREE
    dlon = step_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return [lat] * points, [lon0 + i * dlon for i in range(points)]


def tracks(*rows) -> proximity.Tracks:
    return proximity.tracks_of([(pk, lat, lon) for pk, (lat, lon) in rows])


def reference(left: list, right: list | None, radius_m: float) -> set[tuple[int, int]]:
    found = set()
    for i, (pa, la, oa) in enumerate(left):
        for pb, lb, ob in left[i + 1 :] if right is None else right:
            if not la or not lb:
                continue
            d = geo.haversine_m(
                np.array(la)[:, None],
                np.array(oa)[:, None],
                np.array(lb)[None, :],
                np.array(ob)[None, :],
            )
            if np.nanmin(d) <= radius_m:
                found.add((min(pa, pb), max(pa, pb)) if right is None else (pa, pb))
    return found


def pairs(a, b) -> set[tuple[int, int]]:
    return set(zip(a.tolist(), b.tolist(), strict=True))


def test_tracks_20_m_apart_are_the_same_place_and_200_m_apart_are_not():
    left = tracks((1, track(35.58, 139.74)))
    right = tracks(
        (10, track(35.58, 139.74, north_m=20)),
        (11, track(35.58, 139.74, north_m=200)),
        (12, track(35.58, 139.74, north_m=-29.5)),
    )
    assert pairs(*proximity.close_track_pairs(left, right)) == {(1, 10), (1, 12)}


def test_tracks_crossing_between_samples_pass_within_30_m():
    east_lat, east_lon = track(35.6, 139.7, step_m=15)
    # Heading north through the middle of the eastbound track, sampled 15 m apart.
    north = (
        [35.6 + (i - 10) * 15 / METRES_PER_DEGREE for i in range(20)],
        [east_lon[10] + 1e-5] * 20,
    )
    found = proximity.close_track_pairs(tracks((1, (east_lat, east_lon)), (2, north)))
    assert pairs(*found) == {(1, 2)}


def test_within_one_set_each_pair_is_reported_once_smaller_pk_first():
    together = tracks(
        (5, track(35.58, 139.74)),
        (3, track(35.58, 139.74, north_m=10)),
        (9, track(35.58, 139.74, north_m=5000)),
    )
    assert pairs(*proximity.close_track_pairs(together)) == {(3, 5)}


def test_points_without_a_fix_and_empty_tracks_are_never_near():
    nan_track = ([float("nan")] * 3, [float("nan")] * 3)
    left = tracks((1, nan_track), (2, ([], [])))
    right = tracks((3, track(35.58, 139.74)))
    assert pairs(*proximity.close_track_pairs(left, right)) == set()


def test_scene_tracks_reads_the_stored_tracks():
    from tests.factories import SceneFactory

    near = SceneFactory(track_lat=[35.58, 35.5801], track_lon=[139.74, 139.7401])
    far = SceneFactory(track_lat=[35.70], track_lon=[139.80])
    other = SceneFactory(track_lat=[35.58002], track_lon=[139.74001])
    left = proximity.scene_tracks([near.pk, far.pk])
    assert pairs(*proximity.close_track_pairs(left, proximity.scene_tracks([other.pk]))) == {
        (near.pk, other.pk)
    }


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lat0=st.sampled_from([0.0, 35.6, 61.0, -79.5]),
    lon0=st.sampled_from([0.0, 139.7, -179.99]),
    radius_m=st.sampled_from([5.0, 30.0, 120.0]),
)
def test_grid_finds_exactly_what_all_point_pairs_find(seed, lat0, lon0, radius_m):
    rng = np.random.default_rng(seed)
    rows = []
    for pk in range(1, 41):
        start_lat = lat0 + rng.uniform(0, 0.004)
        start_lon = lon0 + rng.uniform(0, 0.004)
        step = rng.normal(scale=0.00005, size=2)
        n = int(rng.integers(0, 8))
        rows.append(
            (
                pk,
                [start_lat + i * step[0] for i in range(n)],
                [start_lon + i * step[1] for i in range(n)],
            )
        )
    left, right = rows[:20], [(pk + 100, la, lo) for pk, la, lo in rows[20:]]
    found = proximity.close_track_pairs(
        proximity.tracks_of(left), proximity.tracks_of(right), radius_m=radius_m
    )
    assert pairs(*found) == reference(left, right, radius_m)
    inner = proximity.close_track_pairs(proximity.tracks_of(rows), radius_m=radius_m)
    assert pairs(*inner) == reference(rows, None, radius_m)
