"""The drive page, `/vehicles/<id>?at=` (redirect to the moment, or a page saying nothing
was recorded then), the scene viewer's steps through its drive, and the search page's
example moment, without a browser."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import DriveFactory, SceneFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
TRIP = [("trip-1", 0.0), ("trip-2", 20.0), ("trip-3", 95.5), ("trip-4", 115.5)]


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def trip():
    drive = DriveFactory(drive_id="veh-07_20261128", vehicle__vehicle_id="veh-07")
    scenes = {
        scene_id: SceneFactory(
            scene_id=scene_id,
            vehicle=drive.vehicle,
            drive=drive,
            start_time=T0 + timedelta(seconds=offset),
            cameras={
                "rear": f"s3://fleet/{scene_id}/rear.mp4",
                "front_wide": f"s3://fleet/{scene_id}/front_wide.mp4",
            },
        )
        for scene_id, offset in TRIP
    }
    scenes["loose"] = SceneFactory(
        scene_id="loose", vehicle=drive.vehicle, drive=None, start_time=T0 + timedelta(hours=1)
    )
    SceneFactory(vehicle__vehicle_id="veh-08", start_time=T0 + timedelta(seconds=50))
    return scenes


# --- /drives/<drive_id> -----------------------------------------------------------------------


def test_drive_page_opens_at_t_on_the_front_wide_camera(client_in, trip):
    response = client_in.get("/drives/veh-07_20261128?t=100.25")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-t="100.25"' in html
    assert 'data-camera="front_wide"' in html
    assert 'data-duration="135.5"' in html
    assert "Sat 28 Nov 2026, 09:30:00" in html  # local time of the first scene


def test_drive_page_keeps_a_camera_the_drive_has(client_in, trip):
    html = client_in.get("/drives/veh-07_20261128?camera=rear").content.decode()
    assert 'data-camera="rear"' in html
    html = client_in.get("/drives/veh-07_20261128?camera=roof").content.decode()
    assert 'data-camera="front_wide"' in html


@pytest.mark.parametrize("t, shown", [("-3", "0.0"), ("nan", "0.0"), ("99999", "135.5")])
def test_drive_page_clamps_t_to_the_drive(client_in, trip, t, shown):
    assert f'data-t="{shown}"' in client_in.get(f"/drives/veh-07_20261128?t={t}").content.decode()


def test_unknown_drive_is_the_404_page(client_in, trip):
    response = client_in.get("/drives/veh-07_19991231")
    assert response.status_code == 404
    assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize("path", ["/drives/veh-07_20261128", "/vehicles/veh-07?at=2026-11-28"])
def test_drive_pages_need_login(client, trip, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# --- /vehicles/<vehicle_id>?at= ---------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-28T00:31:40.25Z",
        "2026-11-28T09:31:40.25+09:00",
        "2026-11-28T09:31:40.25 09:00",  # "+" sent unescaped reads as a space
        "2026-11-28T09:31:40.25",  # no offset: the catalog's zone, Asia/Tokyo
        "2026-11-28 09:31:40.25",
    ],
)
def test_a_time_inside_scene_3_redirects_to_that_moment_of_the_drive(client_in, trip, at):
    response = client_in.get("/vehicles/veh-07", {"at": at})
    assert response.status_code == 302
    assert response["Location"] == "/drives/veh-07_20261128?t=100.25"


def test_a_scene_without_a_drive_opens_in_the_scene_viewer(client_in, trip):
    response = client_in.get("/vehicles/veh-07", {"at": "2026-11-28T10:30:05+09:00"})
    assert response["Location"] == "/scenes/loose?t=5"


def test_a_time_in_the_gap_is_a_404_page_linking_the_nearest_scenes(client_in, trip):
    response = client_in.get("/vehicles/veh-07", {"at": "2026-11-28T09:31:00+09:00"})
    assert response.status_code == 404
    html = response.content.decode()
    before = html.split('data-testid="nearest-before"')[1].split("</li>")[0]
    after = html.split('data-testid="nearest-after"')[1].split("</li>")[0]
    assert 'href="/scenes/trip-2"' in before and "20 s earlier" in before
    assert 'href="/scenes/trip-3"' in after and "36 s later" in after  # 35.5 s
    assert "Sat 28 Nov 2026, 09:31:00" in html
    assert 'data-testid="assumed-zone"' not in html
    assert 'class="topbar"' in html  # the UI's look


def test_a_local_time_says_it_was_read_in_the_catalog_zone(client_in, trip):
    html = client_in.get("/vehicles/veh-07", {"at": "2026-11-28T09:31"}).content.decode()
    assert 'data-testid="assumed-zone"' in html
    assert "Asia/Tokyo" in html


def test_before_the_first_scene_there_is_nothing_before(client_in, trip):
    html = client_in.get("/vehicles/veh-07", {"at": "2026-11-01T00:00"}).content.decode()
    assert "no earlier scene" in html
    assert 'href="/scenes/trip-1"' in html


@pytest.mark.parametrize("at", ["yesterday", "", "2026-13-01T00:00"])
def test_a_bad_time_is_a_400_page_naming_at(client_in, trip, at):
    response = client_in.get("/vehicles/veh-07", {"at": at})
    assert response.status_code == 400
    assert b'data-error-field="at"' in response.content


def test_no_time_at_all_is_a_400_page(client_in, trip):
    assert client_in.get("/vehicles/veh-07").status_code == 400


def test_an_unknown_vehicle_is_the_404_page(client_in, trip):
    response = client_in.get("/vehicles/veh-99", {"at": "2026-11-28T09:31"})
    assert response.status_code == 404
    assert b'data-testid="error-page"' in response.content


# --- scene viewer: its drive -------------------------------------------------------------------


def test_scene_viewer_steps_to_the_previous_and_next_scene_of_its_drive(client_in, trip):
    html = client_in.get("/scenes/trip-3?camera=rear").content.decode()
    assert 'id="prev-scene" href="/scenes/trip-2?camera=rear"' in html
    assert 'id="next-scene" href="/scenes/trip-4?camera=rear"' in html
    assert "scene 3 of 4" in html


def test_scene_viewer_step_is_disabled_at_the_ends(client_in, trip):
    first = client_in.get("/scenes/trip-1").content.decode()
    assert '<button class="btn btn-icon" id="prev-scene" type="button" disabled' in first
    last = client_in.get("/scenes/trip-4").content.decode()
    assert '<button class="btn btn-icon" id="next-scene" type="button" disabled' in last


def test_scene_viewer_without_a_drive_has_no_steps(client_in, trip):
    html = client_in.get("/scenes/loose").content.decode()
    assert 'id="prev-scene"' not in html and 'id="next-scene"' not in html
    assert 'id="open-drive"' not in html


def test_scene_viewer_links_the_drive_at_the_scene_offset_plus_t(client_in, trip):
    html = client_in.get("/scenes/trip-3?t=4.75&camera=rear").content.decode()
    assert 'href="/drives/veh-07_20261128?t=100.25&amp;camera=rear"' in html
    assert 'data-drive-offset="95.5"' in html


def test_scene_viewer_offers_more_like_this_moment(client_in, trip):
    html = client_in.get("/scenes/trip-3?t=4.75&camera=rear").content.decode()
    assert 'id="like-moment" href="/?like=trip-3&amp;like_camera=rear&amp;like_t=4.75"' in html


# --- search page: an example moment ----------------------------------------------------------


def test_search_page_keeps_the_example_moment_in_its_form(client_in, trip):
    html = client_in.get("/?like=trip-3&like_camera=rear&like_t=4.75").content.decode()
    assert 'name="like_camera" id="f-like-camera" value="rear"' in html
    assert 'name="like_t" id="f-like-t" value="4.75"' in html
    assert "<title>Like trip-3 @ 4.75 s" in html
