"""Drives as timelines: scenes placed by their offset from the drive's first scene, the
gaps where the car recorded nothing, a scene's neighbours, and the scene a vehicle was
recording at a given time."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from catalog.errors import NotFound
from catalog.models import Disengagement, Drive
from catalog.selectors import (
    drive_summary,
    drive_timeline,
    scene_drive_position,
    vehicle_moment,
)
from tests.factories import DriveFactory, SceneFactory, VehicleFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
# (scene id, start offset, duration): two scenes, 55.5 s without recording, two more.
TRIP = [
    ("trip-1", 0.0, 20.0),
    ("trip-2", 20.0, 20.0),
    ("trip-3", 95.5, 20.0),
    ("trip-4", 115.5, 18.25),
]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def trip():
    """veh-07's drive of four scenes with a gap, among distractors: the same vehicle's drive
    of the day before, another vehicle recording at the same times, and a scene of veh-07
    without a drive. Created in shuffled order, so ids do not follow time."""
    vehicle = VehicleFactory(vehicle_id="veh-07")
    other = VehicleFactory(vehicle_id="veh-08")
    drive = DriveFactory(vehicle=vehicle, drive_id="veh-07_20261128")
    yesterday = DriveFactory(vehicle=vehicle, drive_id="veh-07_20261127")
    other_drive = DriveFactory(vehicle=other, drive_id="veh-08_20261128")
    specs = [(scene_id, drive, vehicle, at(o), d) for scene_id, o, d in TRIP]
    specs += [(f"yday-{i}", yesterday, vehicle, at(-86400 + 20 * i), 20.0) for i in range(3)]
    specs += [(f"other-{i}", other_drive, other, at(-5 + 20 * i), 20.0) for i in range(8)]
    specs.append(("loose", None, vehicle, at(3600), 20.0))
    random.Random(7).shuffle(specs)
    scenes = {}
    for scene_id, scene_drive, scene_vehicle, start, duration in specs:
        scenes[scene_id] = SceneFactory(
            scene_id=scene_id,
            vehicle=scene_vehicle,
            drive=scene_drive,
            start_time=start,
            duration_s=duration,
        )
    scenes["trip-3"].disengagement_count = 2
    scenes["trip-3"].save()
    Disengagement.objects.create(scene=scenes["trip-3"], t_s=14.0, kind="planner_fault")
    Disengagement.objects.create(scene=scenes["trip-3"], t_s=4.5, kind="driver_override")
    return scenes


# --- drive_timeline --------------------------------------------------------------------------


def test_scenes_come_in_time_order_with_exact_offsets(trip):
    timeline = drive_timeline(drive_id="veh-07_20261128")
    assert [(s["scene_id"], s["offset_s"], s["duration_s"]) for s in timeline["scenes"]] == TRIP
    assert (timeline["drive_id"], timeline["vehicle_id"]) == ("veh-07_20261128", "veh-07")
    assert timeline["start_time"] == T0
    assert timeline["duration_s"] == 133.75
    assert (timeline["scene_count"], timeline["truncated"]) == (4, False)


def test_the_gap_shows_as_offsets_that_do_not_meet(trip):
    scenes = drive_timeline(drive_id="veh-07_20261128")["scenes"]
    holes = [
        (a["offset_s"] + a["duration_s"], b["offset_s"])
        for a, b in itertools.pairwise(scenes)
        if a["offset_s"] + a["duration_s"] < b["offset_s"]
    ]
    assert holes == [(40.0, 95.5)]


def test_disengagements_are_listed_per_scene_in_time_order(trip):
    scenes = {s["scene_id"]: s for s in drive_timeline(drive_id="veh-07_20261128")["scenes"]}
    assert scenes["trip-3"]["disengagements"] == [
        {"t_s": 4.5, "kind": "driver_override"},
        {"t_s": 14.0, "kind": "planner_fault"},
    ]
    assert scenes["trip-2"]["disengagements"] == []


def test_camera_names_are_those_of_any_scene(trip):
    trip["trip-2"].cameras = {"rear": "s3://fleet/trip-2/rear.mp4"}
    trip["trip-2"].save()
    assert drive_summary(drive_id="veh-07_20261128")["camera_names"] == ["front_wide", "rear"]


def test_past_the_limit_the_timeline_is_truncated(trip):
    timeline = drive_timeline(drive_id="veh-07_20261128", limit=3)
    assert [s["scene_id"] for s in timeline["scenes"]] == ["trip-1", "trip-2", "trip-3"]
    assert timeline["truncated"] is True
    assert timeline["scene_count"] == 4


def test_a_window_starts_at_the_first_scene_ending_after_from_s(trip):
    timeline = drive_timeline(drive_id="veh-07_20261128", from_s=39.0)
    assert [(s["scene_id"], s["offset_s"]) for s in timeline["scenes"]] == [
        ("trip-2", 20.0),
        ("trip-3", 95.5),
        ("trip-4", 115.5),
    ]
    assert drive_timeline(drive_id="veh-07_20261128", from_s=40.0)["scenes"][0]["offset_s"] == 95.5


def test_scenes_starting_together_are_ordered_by_id(trip):
    twin = SceneFactory(
        scene_id="trip-2b", vehicle=trip["trip-2"].vehicle, drive=trip["trip-2"].drive,
        start_time=at(20.0),
    )  # fmt: skip
    ids = [s["scene_id"] for s in drive_timeline(drive_id="veh-07_20261128")["scenes"]]
    assert ids == ["trip-1", "trip-2", "trip-2b", "trip-3", "trip-4"]
    assert twin.pk > trip["trip-2"].pk


def test_unknown_drive_and_drive_without_scenes_are_none(trip):
    Drive.objects.create(drive_id="empty", vehicle=trip["trip-1"].vehicle)
    assert drive_timeline(drive_id="nope") is None
    assert drive_timeline(drive_id="empty") is None
    assert drive_summary(drive_id="empty") is None


# --- scene_drive_position -------------------------------------------------------------------


def test_a_scene_knows_its_place_and_neighbours(trip):
    position = scene_drive_position(scene=trip["trip-3"])
    assert position == {
        "drive_id": "veh-07_20261128",
        "offset_s": 95.5,
        "index": 3,
        "count": 4,
        "previous_scene_id": "trip-2",
        "next_scene_id": "trip-4",
    }


def test_the_ends_of_a_drive_have_no_neighbour_beyond(trip):
    assert scene_drive_position(scene=trip["trip-1"])["previous_scene_id"] is None
    assert scene_drive_position(scene=trip["trip-4"])["next_scene_id"] is None


def test_neighbours_of_scenes_starting_together_follow_ids(trip):
    twin = SceneFactory(
        scene_id="trip-2b", vehicle=trip["trip-2"].vehicle, drive=trip["trip-2"].drive,
        start_time=at(20.0),
    )  # fmt: skip
    assert scene_drive_position(scene=trip["trip-2"])["next_scene_id"] == "trip-2b"
    assert scene_drive_position(scene=twin)["previous_scene_id"] == "trip-2"
    assert scene_drive_position(scene=twin)["next_scene_id"] == "trip-3"


def test_a_scene_without_a_drive_has_no_position(trip):
    assert scene_drive_position(scene=trip["loose"]) is None


# --- vehicle_moment ----------------------------------------------------------------------------


def test_a_time_inside_scene_3_is_that_moment_of_the_drive(trip):
    moment = vehicle_moment(vehicle_id="veh-07", at=at(100.25))
    assert moment["scene"] == {
        "scene_id": "trip-3",
        "drive_id": "veh-07_20261128",
        "t_s": 4.75,
        "drive_t_s": 100.25,
    }


def test_a_scene_starts_where_the_previous_one_ends(trip):
    assert vehicle_moment(vehicle_id="veh-07", at=at(20.0))["scene"]["scene_id"] == "trip-2"
    assert vehicle_moment(vehicle_id="veh-07", at=at(19.999))["scene"]["scene_id"] == "trip-1"


def test_a_time_in_the_gap_names_the_nearest_scenes_either_side(trip):
    moment = vehicle_moment(vehicle_id="veh-07", at=at(50.0))
    assert moment["scene"] is None
    assert moment["before"]["scene_id"] == "trip-2"
    assert moment["before"]["end_time"] == at(40.0)
    assert moment["after"]["scene_id"] == "trip-3"
    assert moment["after"]["start_time"] == at(95.5)


def test_before_the_first_scene_there_is_only_an_after(trip):
    moment = vehicle_moment(vehicle_id="veh-07", at=at(-2 * 86400))
    assert (moment["scene"], moment["before"]) == (None, None)
    assert moment["after"]["scene_id"] == "yday-0"


def test_a_scene_without_a_drive_is_found_with_no_drive_offset(trip):
    moment = vehicle_moment(vehicle_id="veh-07", at=at(3605))
    assert moment["scene"] == {"scene_id": "loose", "drive_id": None, "t_s": 5.0, "drive_t_s": None}


def test_a_long_scene_covers_a_time_past_a_shorter_later_one(trip):
    vehicle = trip["trip-1"].vehicle
    SceneFactory(scene_id="long", vehicle=vehicle, drive=None, start_time=at(7200), duration_s=60)
    SceneFactory(scene_id="short", vehicle=vehicle, drive=None, start_time=at(7210), duration_s=5)
    assert vehicle_moment(vehicle_id="veh-07", at=at(7230))["scene"]["scene_id"] == "long"


def test_an_unknown_vehicle_is_not_found(trip):
    with pytest.raises(NotFound):
        vehicle_moment(vehicle_id="veh-99", at=at(0))
