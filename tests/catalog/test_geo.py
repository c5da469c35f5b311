"""Grid cells of tracks and coverings of circles (catalog.geo): a covering plus the exact
haversine on its boundary cells decides `near` exactly as the haversine alone does."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import geo
from tests.catalog.geo_support import destination, haversine_m, reference_track_cells

TOKYO = (35.5786, 139.7497)
INT64_MAX = 2**63 - 1
NO_CELL_LIMIT = 1_000_000
PROPERTY = settings(max_examples=150, deadline=None)

centres = st.tuples(st.floats(-75, 75), st.floats(-178, 178))
radii = st.floats(10, 20_000)
# Points anywhere up to twice the radius away, many of them within a metre of the edge,
# some snapped to the 0.001 degree grid lines (where rounding picks a cell).
offsets = st.tuples(
    st.floats(0, 360, exclude_max=True),
    st.one_of(st.floats(0, 2), st.floats(0.9999, 1.0001)),
    st.booleans(),
)
tracks = st.lists(offsets, min_size=1, max_size=20)


def place(centre, radius_m, track_offsets) -> tuple[list[float], list[float]]:
    lats, lons = [], []
    for bearing, factor, snap in track_offsets:
        lat, lon = destination(*centre, bearing, factor * radius_m)
        if snap:
            lat, lon = round(lat, 3), round(lon, 3)
        lats.append(lat)
        lons.append(lon)
    return lats, lons


def near_by_covering(cover, centre, radius_m, lats, lons) -> bool:
    inner, boundary = cover
    cells = set(geo.track_cells(lats, lons))
    if cells & set(inner):
        return True
    return bool(cells & set(boundary)) and near_by_haversine(centre, radius_m, lats, lons)


def near_by_haversine(centre, radius_m, lats, lons) -> bool:
    return any(haversine_m(*centre, la, lo) <= radius_m for la, lo in zip(lats, lons, strict=True))


def level(cell: int) -> int:
    return cell >> geo.LEVEL_SHIFT


@given(centre=centres, radius_m=radii, track=tracks)
@PROPERTY
def test_covering_decides_near_exactly_as_the_haversine(centre, radius_m, track):
    cover = geo.near_cover(*centre, radius_m, max_cells=NO_CELL_LIMIT)
    lats, lons = place(centre, radius_m, track)
    assert cover is not None
    assert near_by_covering(cover, centre, radius_m, lats, lons) == near_by_haversine(
        centre, radius_m, lats, lons
    )


@given(centre=centres, radius_m=radii)
@settings(max_examples=60, deadline=None)
def test_every_point_of_an_inner_cell_is_within_the_radius(centre, radius_m):
    inner, _ = geo.near_cover(*centre, radius_m, max_cells=NO_CELL_LIMIT)
    for cell in inner:
        south, west, north, east = geo.cell_bounds(cell)
        for lat in (south, (south + north) / 2, north):
            for lon in (west, (west + east) / 2, east):
                assert haversine_m(*centre, lat, lon) <= radius_m


@given(centre=centres, radius_m=radii, track=tracks)
@PROPERTY
def test_cap_box_holds_every_point_within_the_radius(centre, radius_m, track):
    south, west, north, east = geo.cap_box(*centre, radius_m)
    for lat, lon in zip(*place(centre, radius_m, track), strict=True):
        if haversine_m(*centre, lat, lon) <= radius_m:
            assert south <= lat <= north and west <= lon <= east


@pytest.mark.parametrize("radius_m", [5, 500, 1500, 20_000])
def test_boundary_cells_are_finest_and_apart_from_inner(radius_m):
    inner, boundary = geo.near_cover(*TOKYO, radius_m, max_cells=NO_CELL_LIMIT)
    assert boundary and {level(c) for c in boundary} == {0}
    assert not set(inner) & set(boundary)
    assert inner == sorted(inner) and boundary == sorted(boundary)


def test_large_circle_is_covered_with_coarse_inner_cells():
    inner, _ = geo.near_cover(*TOKYO, 20_000, max_cells=NO_CELL_LIMIT)
    assert {level(c) for c in inner} == {0, 1, 2, 3}


def test_circle_smaller_than_a_cell_is_its_cells():
    inner, boundary = geo.near_cover(*TOKYO, 5)
    assert inner == []
    assert geo.track_cells([TOKYO[0]], [TOKYO[1]])[0] in boundary


@pytest.mark.parametrize(
    ("lat", "lon", "radius_m"),
    [
        (*TOKYO, 50_000),  # more cells than the default limit
        (0.0, 179.9995, 100),  # crosses the antimeridian
        (0.0, -179.9995, 100),
        (89.9995, 0.0, 100),  # holds the north pole
        (-89.9995, 0.0, 100),
        (math.nan, 139.0, 100),
        (35.0, 139.0, math.inf),
    ],
)
def test_near_cover_declines_what_it_cannot_cover(lat, lon, radius_m):
    assert geo.near_cover(lat, lon, radius_m) is None


def test_cap_box_declines_the_antimeridian_and_poles():
    assert geo.cap_box(0.0, 179.9995, 100) is None
    assert geo.cap_box(89.9995, 0.0, 100) is None


def test_a_point_has_one_cell_per_level_containing_it():
    cells = geo.track_cells([TOKYO[0]], [TOKYO[1]])
    assert [level(c) for c in cells] == [0, 1, 2, 3]
    for cell in cells:
        south, west, north, east = geo.cell_bounds(cell)
        assert south <= TOKYO[0] < north and west <= TOKYO[1] < east


def test_track_cells_are_sorted_and_unique():
    lats = [35.5786, 35.5786, 35.5801, 35.5820]
    lons = [139.7497, 139.7497, 139.7512, 139.7530]
    cells = geo.track_cells(lats, lons)
    assert cells == sorted(set(cells))
    assert len([c for c in cells if level(c) == 0]) == 3


def test_extreme_points_fit_int64_and_levels_never_collide():
    corners = [(-90.0, -180.0), (-90.0, 180.0), (90.0, -180.0), (90.0, 180.0)]
    per_point = [geo.track_cells([lat], [lon]) for lat, lon in corners]
    every = [cell for cells in per_point for cell in cells]
    assert all(0 <= cell <= INT64_MAX for cell in every)
    assert all([level(c) for c in cells] == [0, 1, 2, 3] for cells in per_point)
    assert len(set(every)) == len(every)


def test_non_finite_and_out_of_range_points_are_skipped():
    lats = [math.nan, TOKYO[0], math.inf, 95.0, -90.0000001, 35.0]
    lons = [139.0, TOKYO[1], 139.0, 139.0, 139.0, 180.0000001]
    assert geo.track_cells(lats, lons) == geo.track_cells([TOKYO[0]], [TOKYO[1]])


def test_empty_track_has_no_cells():
    assert geo.track_cells([], []) == []


coordinates = st.one_of(
    st.floats(-91, 91), st.sampled_from([90.0, -90.0, 180.0, -180.0, math.nan, math.inf])
)


@PROPERTY
@given(st.lists(st.lists(st.tuples(coordinates, coordinates), min_size=3, max_size=3), min_size=1))
def test_track_cells_equal_the_point_by_point_reference(rows):
    lat = np.array([[la for la, _ in row] for row in rows])
    lon = np.array([[lo * 2 for _, lo in row] for row in rows])  # reach past +-180 too
    expected = [
        reference_track_cells(la.tolist(), lo.tolist()) for la, lo in zip(lat, lon, strict=True)
    ]
    assert geo.track_cells_rows(lat, lon) == expected
    one_by_one = [
        geo.track_cells(la.tolist(), lo.tolist()) for la, lo in zip(lat, lon, strict=True)
    ]
    assert one_by_one == expected


def test_track_cells_rows_take_only_the_masked_points():
    lat = np.array([[TOKYO[0], 10.0], [20.0, TOKYO[0]]])
    lon = np.array([[TOKYO[1], 10.0], [20.0, TOKYO[1]]])
    points = np.array([[True, False], [False, True]])
    tokyo = geo.track_cells([TOKYO[0]], [TOKYO[1]])
    assert geo.track_cells_rows(lat, lon, points) == [tokyo, tokyo]


def test_track_cells_refuse_unequal_lengths():
    with pytest.raises(ValueError):
        geo.track_cells([1.0, 2.0], [1.0])


boxes = st.tuples(
    st.floats(-75, 75), st.floats(-178, 178), st.floats(0, 0.3), st.floats(0, 0.3)
).map(lambda b: (b[1], b[0], min(b[1] + b[3], 180.0), min(b[0] + b[2], 90.0)))
# Points around the box, many on its edges or a hair beyond, some on the cell grid lines.
box_points = st.lists(
    st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5), st.sampled_from(["", "edge", "grid"])),
    min_size=1,
    max_size=20,
)


def place_in_box(box, points) -> tuple[list[float], list[float]]:
    min_lon, min_lat, max_lon, max_lat = box
    lats, lons = [], []
    for u, v, snap in points:
        lat = min_lat + u * (max_lat - min_lat)
        lon = min_lon + v * (max_lon - min_lon)
        if snap == "edge":
            lat = [min_lat, max_lat, min_lat - 1e-12, max_lat + 1e-12][int(u * 7) % 4]
        elif snap == "grid":
            lat, lon = round(lat, 3), round(lon, 3)
        lats.append(lat)
        lons.append(lon)
    return lats, lons


def in_box(box, lats, lons) -> bool:
    min_lon, min_lat, max_lon, max_lat = box
    return any(
        min_lat <= la <= max_lat and min_lon <= lo <= max_lon
        for la, lo in zip(lats, lons, strict=True)
    )


@given(box=boxes, points=box_points, max_cells=st.sampled_from([NO_CELL_LIMIT, 320, 40]))
@PROPERTY
def test_box_covering_decides_exactly_as_the_box(box, points, max_cells):
    cover = geo.box_cover(*box, max_cells=max_cells)
    if cover is None:
        return
    inner, boundary = cover
    lats, lons = place_in_box(box, points)
    cells = set(geo.track_cells(lats, lons))
    decided = bool(cells & set(inner)) or (bool(cells & set(boundary)) and in_box(box, lats, lons))
    assert decided == in_box(box, lats, lons)


@given(box=boxes)
@settings(max_examples=60, deadline=None)
def test_every_point_of_an_inner_box_cell_is_in_the_box(box):
    min_lon, min_lat, max_lon, max_lat = box
    inner, _ = geo.box_cover(*box, max_cells=NO_CELL_LIMIT)
    for cell in inner:
        south, west, north, east = geo.cell_bounds(cell)
        assert min_lat <= south and north <= max_lat and min_lon <= west and east <= max_lon


def test_box_boundary_is_finest_while_it_fits_then_coarser():
    box = (139.70, 35.55, 139.80, 35.68)
    _, fine = geo.box_cover(*box, max_cells=NO_CELL_LIMIT)
    inner, boundary = geo.box_cover(*box)
    assert {level(c) for c in fine} == {0} and len(fine) > geo.DEFAULT_MAX_CELLS
    assert len({level(c) for c in boundary}) == 1 and level(boundary[0]) > 0
    assert len(inner) + len(boundary) <= geo.DEFAULT_MAX_CELLS
    assert not set(inner) & set(boundary)


def test_box_cover_declines_what_it_cannot_cover():
    assert geo.box_cover(130.0, 30.0, 140.0, 40.0) is None  # more cells than the limit
    assert geo.box_cover(math.nan, 30.0, 140.0, 40.0) is None
    assert geo.box_cover(140.0, 30.0, 139.0, 40.0) is None  # min_lon > max_lon
