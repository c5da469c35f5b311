"""Each scene filter against known answers, alone and combined, and its validation."""

import random
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.http import QueryDict

from catalog import geo, selectors
from catalog.errors import InvalidInput
from catalog.filter_sql import scene_filter_sql
from catalog.filters import SceneFilters, parse_json_filters, parse_query_params
from catalog.models import Scene
from catalog.selectors import scene_list
from tests.catalog.geo_support import destination, haversine_m
from tests.factories import SceneFactory, VehicleFactory

pytestmark = pytest.mark.django_db

ODAIBA = (35.6268, 139.7750)
OI = (35.5786, 139.7497)


@pytest.fixture
def fleet():
    veh1, veh2 = VehicleFactory(vehicle_id="veh-01"), VehicleFactory(vehicle_id="veh-02")
    return {
        "slow_day": SceneFactory(
            vehicle=veh1, max_speed_mps=5, mean_speed_mps=3, local_hour=10, tags=["urban"],
            start_time=datetime(2026, 11, 1, 1, tzinfo=UTC),
        ),
        "fast_night": SceneFactory(
            vehicle=veh1, max_speed_mps=25, mean_speed_mps=20, local_hour=22,
            tags=["highway", "night"], disengagement_count=2,
            start_time=datetime(2026, 11, 2, 13, tzinfo=UTC),
        ),
        "odaiba": SceneFactory(
            vehicle=veh2, max_speed_mps=12, mean_speed_mps=9, local_hour=15, gnss_fix_rate=0.6,
            tags=["urban", "rain"], start_lat=ODAIBA[0], start_lon=ODAIBA[1],
            min_lat=ODAIBA[0], max_lat=ODAIBA[0] + 0.001, min_lon=ODAIBA[1],
            max_lon=ODAIBA[1] + 0.001, track_lat=[ODAIBA[0], ODAIBA[0] + 0.001],
            track_lon=[ODAIBA[1], ODAIBA[1] + 0.001],
            start_time=datetime(2026, 11, 3, 6, tzinfo=UTC),
        ),
    }  # fmt: skip


def names(fleet, query: str) -> set[str]:
    by_pk = {scene.pk: name for name, scene in fleet.items()}
    filters = parse_query_params(QueryDict(query))
    return {by_pk[s.pk] for s in scene_list(filters=filters)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"slow_day", "fast_night", "odaiba"}),
        ("vehicle=veh-02", {"odaiba"}),
        ("vehicle=veh-01&vehicle=veh-02", {"slow_day", "fast_night", "odaiba"}),
        ("tag=urban", {"slow_day", "odaiba"}),
        ("tag=urban&tag=rain", {"odaiba"}),
        ("start_after=2026-11-02T00:00:00Z", {"fast_night", "odaiba"}),
        ("start_before=2026-11-02T00:00:00%2B09:00", {"slow_day"}),
        ("max_speed_gte=12", {"fast_night", "odaiba"}),
        ("max_speed_lte=12", {"slow_day", "odaiba"}),
        ("mean_speed_gte=9&mean_speed_lte=10", {"odaiba"}),
        ("has_disengagement=true", {"fast_night"}),
        ("has_disengagement=false", {"slow_day", "odaiba"}),
        ("gnss_fix_rate_lte=0.9", {"odaiba"}),
        ("gnss_fix_rate_gte=0.9", {"slow_day", "fast_night"}),
        ("near=35.6268,139.7750,300", {"odaiba"}),
        ("near=35.58,139.74,300", {"slow_day", "fast_night"}),
        ("near=35.60,139.76,300", set()),
        ("bbox=139.77,35.62,139.78,35.63", {"odaiba"}),
        ("hour_gte=12", {"fast_night", "odaiba"}),
        ("hour_gte=12&hour_lte=16", {"odaiba"}),
        ("vehicle=veh-01&max_speed_gte=20&has_disengagement=true&hour_gte=20", {"fast_night"}),
    ],
)
def test_filter_known_answers(fleet, query, expected):
    assert names(fleet, query) == expected


def test_drive_filter(fleet):
    drive = fleet["odaiba"].drive.drive_id
    assert names(fleet, f"drive={drive}") == {"odaiba"}


def test_list_is_newest_first(fleet):
    assert [s.pk for s in scene_list(filters=parse_query_params(QueryDict("")))] == [
        fleet["odaiba"].pk, fleet["fast_night"].pk, fleet["slow_day"].pk,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_speed_gte=fast", "max_speed_gte"),
        ("has_disengagement=maybe", "has_disengagement"),
        ("near=35.6,139.7", "near"),
        ("near=35.6,139.7,-5", "near"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=10,0,5,1", "bbox"),
        ("hour_gte=24", "hour_gte"),
        ("hour_lte=3.5", "hour_lte"),
        ("gnss_fix_rate_gte=1.5", "gnss_fix_rate_gte"),
        ("start_after=2026-11-01T00:00:00", "start_after"),
        ("start_after=tomorrow", "start_after"),
        ("max_speed_gte=10&max_speed_lte=5", "max_speed_gte"),
        ("drive=a&drive=b", "drive"),
    ],
)
def test_malformed_filter_names_the_parameter(query, field):
    with pytest.raises(InvalidInput) as info:
        parse_query_params(QueryDict(query))
    assert field in info.value.errors


def test_json_filters_take_lists_and_scalars():
    filters = parse_json_filters(
        {"vehicle": ["veh-07"], "near": "35.58,139.74,500", "has_disengagement": True,
         "max_speed_gte": 8.3}
    )  # fmt: skip
    assert filters.vehicle == ("veh-07",)
    assert filters.near == (35.58, 139.74, 500.0)
    assert filters.has_disengagement is True


def test_json_filters_reject_unknown_names():
    with pytest.raises(InvalidInput) as info:
        parse_json_filters({"speed": 3})
    assert "filters.speed" in info.value.errors


def test_json_filters_name_the_bad_field():
    with pytest.raises(InvalidInput) as info:
        parse_json_filters({"max_speed_gte": "x"})
    assert "filters.max_speed_gte" in info.value.errors


def test_filters_round_trip_through_query_params():
    original = parse_query_params(QueryDict("vehicle=a&tag=x&tag=y&near=35.5,139.7,200&hour_gte=3"))
    again = parse_query_params(original.as_query_params())
    assert again == original


def scene_along(lats: list[float], lons: list[float]):
    return SceneFactory(
        track_lat=lats, track_lon=lons,
        min_lat=min(lats), max_lat=max(lats), min_lon=min(lons), max_lon=max(lons),
    )  # fmt: skip


def _random_tracks(radius_m: float, seed: int) -> list[tuple[object, list]]:
    rng = random.Random(seed)
    tracks = []
    for _ in range(120):
        start = destination(*OI, rng.uniform(0, 360), radius_m * rng.uniform(0, 2.5))
        heading = rng.uniform(0, 360)
        points = [destination(*start, heading, 12.0 * t) for t in range(rng.randint(1, 20))]
        tracks.append((scene_along(*zip(*points, strict=True)), points))
    return tracks


def near_pks(lat: float, lon: float, radius_m: float) -> set[int]:
    return {s.pk for s in scene_list(filters=SceneFilters(near=(lat, lon, radius_m)))}


def test_near_decides_at_the_haversine_edge():
    # Due north: the farthest a point within the radius gets from the centre's latitude.
    inside = scene_along(*zip(destination(*OI, 0, 499.9), strict=True))
    scene_along(*zip(destination(*OI, 180, 500.1), strict=True))
    assert near_pks(*OI, 500) == {inside.pk}


@pytest.mark.parametrize("radius_m", [20, 150, 500, 1400, 5000, 30_000])
def test_near_finds_exactly_the_scenes_the_haversine_finds(radius_m):
    tracks = _random_tracks(radius_m, seed=radius_m)
    expected = {
        scene.pk
        for scene, points in tracks
        if any(haversine_m(*OI, lat, lon) <= radius_m for lat, lon in points)
    }
    assert expected and near_pks(*OI, radius_m) == expected


@pytest.mark.parametrize("radius_m", [20, 500, 5000])
@pytest.mark.parametrize("walk_risk", [0.0, 1e9])  # always walk the list / never
def test_list_pages_keep_every_place_match_whichever_plan(radius_m, walk_risk, monkeypatch):
    """The place's bounds, checked first on each row of a page's plan, drop no match."""
    monkeypatch.setattr(selectors, "WALK_RISK", walk_risk)
    tracks = _random_tracks(radius_m, seed=radius_m + 1)
    box = geo.cap_box(*OI, radius_m)
    cases = {
        SceneFilters(near=(*OI, radius_m)): lambda lat, lon: haversine_m(*OI, lat, lon) <= radius_m,
        SceneFilters(bbox=(box[1], box[0], OI[1], OI[0])): lambda lat, lon: (
            box[1] <= lon <= OI[1] and box[0] <= lat <= OI[0]
        ),
    }
    for filters, inside in cases.items():
        expected = {
            scene.pk for scene, points in tracks if any(inside(lat, lon) for lat, lon in points)
        }
        page = selectors.scene_page(filters=filters, limit=200)
        assert expected and set(page.pks) == expected


def test_near_looks_past_the_track_ends_and_box():
    # Only the middle point is inside, in a cell on the circle's edge; and a track whose
    # box holds the centre while its points do not.
    through = scene_along(
        *zip(destination(*OI, 270, 700), destination(*OI, 0, 490), destination(*OI, 90, 700),
             strict=True)
    )  # fmt: skip
    scene_along(*zip(destination(*OI, 0, 600), destination(*OI, 90, 600), strict=True))
    inner, _ = geo.near_cover(*OI, 500)
    assert not set(through.track_cells) & set(inner)
    assert near_pks(*OI, 500) == {through.pk}


def test_near_beyond_the_cell_limit_falls_back_to_the_track_box():
    inside = scene_along(*zip(destination(*OI, 0, 299_990), strict=True))
    scene_along(*zip(destination(*OI, 0, 300_010), strict=True))
    assert geo.near_cover(*OI, 300_000) is None
    assert near_pks(*OI, 300_000) == {inside.pk}


def test_near_across_the_antimeridian():
    east = scene_along([0.0], [179.9999])
    scene_along([0.0], [179.99])
    assert near_pks(0.0, -179.9999, 100) == {east.pk}


def test_near_is_served_by_the_track_cells_index():
    for _ in range(30):
        SceneFactory()
    sql, params = scene_filter_sql(SceneFilters(near=(*OI, 500)), "s")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT count(*) FROM catalog_scene s WHERE {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on scene_track_cells_gin" in plan


@pytest.mark.parametrize(
    "raw",
    ["0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59+00:00", "2201-01-01T00:00:00Z",
     "9999-12-31T23:59:59-14:00"],
)  # fmt: skip
def test_times_outside_the_years_1900_to_2200_are_refused(raw):
    with pytest.raises(InvalidInput) as refused:
        parse_query_params({"start_after": raw})
    assert "1900..2200" in refused.value.errors["start_after"][0]


def test_times_at_the_edges_of_the_range_are_taken():
    filters = parse_query_params(
        {"start_after": "1900-01-01T00:00:00-12:00", "start_before": "2200-12-31T23:59:59+14:00"}
    )
    assert list(scene_list(filters=filters)) == []


def test_a_box_wider_than_ten_degrees_is_refused():
    with pytest.raises(InvalidInput) as refused:
        parse_query_params({"bbox": "130,30,140.5,31"})
    assert "bbox" in refused.value.errors
    assert parse_query_params({"bbox": "130,30,140,40"}).bbox == (130, 30, 140, 40)


def test_speeds_past_1000_mps_are_refused():
    with pytest.raises(InvalidInput):
        parse_query_params({"max_speed_gte": "1000.5"})


def bbox_pks(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> set[int]:
    box = (min_lon, min_lat, max_lon, max_lat)
    return {s.pk for s in scene_list(filters=SceneFilters(bbox=box))}


# Boxes around Oi: within a finest cell, fine and coarse boundary cells, too large to cover.
@pytest.mark.parametrize("half_deg", [0.0004, 0.015, 0.2, 3.0])
def test_bbox_finds_exactly_the_scenes_whose_track_enters_it(half_deg):
    rng = random.Random(half_deg)
    box = (OI[1] - half_deg, OI[0] - half_deg * 0.7, OI[1] + half_deg, OI[0] + half_deg * 0.7)
    min_lon, min_lat, max_lon, max_lat = box
    tracks = []
    for _ in range(120):
        lat = rng.uniform(min_lat - half_deg, max_lat + half_deg)
        lon = rng.uniform(min_lon - half_deg, max_lon + half_deg)
        if rng.random() < 0.3:  # on an edge of the box, inside or a hair outside
            lat = rng.choice([min_lat, max_lat, min_lat - 1e-7, max_lat + 1e-7])
        step = half_deg * rng.uniform(0.01, 0.3)
        points = [(lat + step * t * 0.3, lon + step * t) for t in range(rng.randint(1, 10))]
        tracks.append((scene_along(*zip(*points, strict=True)), points))
    expected = {
        scene.pk
        for scene, points in tracks
        if any(min_lat <= la <= max_lat and min_lon <= lo <= max_lon for la, lo in points)
    }
    assert expected and bbox_pks(*box) == expected


def test_bbox_beyond_the_cell_limit_falls_back_to_the_track_box():
    box = (OI[1] - 3, OI[0] - 2, OI[1] + 3, OI[0] + 2)
    assert geo.box_cover(*box) is None
    inside = scene_along([OI[0] + 1.9999], [OI[1] - 2.9999])
    scene_along([OI[0] + 2.0001], [OI[1]])
    assert bbox_pks(*box) == {inside.pk}


def test_bbox_is_served_by_the_track_cells_index():
    for _ in range(30):
        SceneFactory()
    sql, params = scene_filter_sql(SceneFilters(bbox=(139.72, 35.61, 139.75, 35.64)), "s")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT count(*) FROM catalog_scene s WHERE {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on scene_track_cells_gin" in plan


@pytest.mark.parametrize("raw", ["ok", "flagged", " Flagged "])
def test_quality_filter_takes_ok_or_flagged(raw):
    assert parse_query_params(QueryDict(f"quality={raw}")).quality == raw.strip().lower()


@pytest.mark.parametrize("raw", ["good", "1", "flagged,ok"])
def test_quality_filter_refuses_other_values(raw):
    with pytest.raises(InvalidInput) as info:
        parse_query_params(QueryDict(f"quality={raw}"))
    assert "quality" in info.value.errors


def test_quality_filter_round_trips_through_query_params():
    original = parse_query_params(QueryDict("quality=flagged&drive=veh-07_20261128"))
    assert parse_query_params(original.as_query_params()) == original


@pytest.mark.parametrize("walk_risk", [0.0, 1e9])  # always walk the list / never
def test_pages_of_disengaged_scenes_follow_the_list_whichever_plan(walk_risk, monkeypatch):
    """A walk of disengaged scenes reads their partial index in the list's order: page
    after page (by cursor and by number), exactly the matches, newest first."""
    monkeypatch.setattr(selectors, "WALK_RISK", walk_risk)
    rng = random.Random(5)
    scenes = [
        SceneFactory(
            disengagement_count=rng.choice([0, 0, 0, 1, 2]), max_speed_mps=rng.uniform(0, 30)
        )
        for _ in range(90)
    ]
    filters = SceneFilters(has_disengagement=True, max_speed_gte=10.0)
    expected = [
        s.pk
        for s in sorted(scenes, key=lambda s: (s.start_time, s.pk), reverse=True)
        if s.disengagement_count > 0 and s.max_speed_mps >= 10.0
    ]
    assert len(expected) > 12
    by_cursor, after = [], None
    while True:
        page = selectors.scene_page(filters=filters, after=after, limit=5)
        if not page.pks:
            break
        by_cursor += page.pks
        last = Scene.objects.get(pk=page.pks[-1])
        after = (last.start_time, last.pk)
    assert by_cursor == expected
    assert selectors.scene_page(filters=filters, offset=10, limit=5).pks == expected[10:15]
