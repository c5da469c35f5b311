"""The UI's pages and its small JSON reads, without a browser."""

import pytest

from catalog.models import Disengagement
from curation import services
from tests.factories import SceneFactory

PAGES = ["/", "/scenes/scene-x", "/sets/", "/sets/1/", "/watches/"]


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/ui/places.json"])
def test_json_reads_need_login(client, path):
    assert client.get(path).status_code == 401


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.django_db
def test_login_then_search_page(client, user):
    response = client.post("/login/", {"username": user.username, "password": "pw"})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_logout_signs_out(client_in):
    assert client_in.post("/logout/").status_code == 302
    assert client_in.get("/").status_code == 302


@pytest.mark.django_db
def test_search_page_fills_the_form_from_the_url(client_in):
    response = client_in.get("/?text=night+rain&max_speed_gte=10&vehicle=veh-01&vehicle=veh-02")
    html = response.content.decode()
    assert 'value="night rain"' in html
    assert 'data-param="max_speed_gte" data-scale="3.6" placeholder="min" value="36"' in html
    assert 'name="vehicle" data-param="vehicle" value="veh-01"' in html
    assert 'name="vehicle" data-param="vehicle" value="veh-02"' in html


@pytest.mark.django_db
def test_search_page_names_a_malformed_filter(client_in):
    html = client_in.get("/?hour_gte=noon").content.decode()
    assert '<p class="field-error" data-error-for="hour_gte">' in html


@pytest.mark.django_db
def test_search_page_shows_the_untrained_model_banner(client_in):
    assert b"similarity is not semantic" in client_in.get("/").content


@pytest.mark.django_db
def test_search_page_suggests_vehicles_and_tags(client_in):
    SceneFactory(vehicle__vehicle_id="veh-42", tags=["rain"])
    html = client_in.get("/").content.decode()
    assert '<option value="veh-42">' in html
    assert '<option value="rain">' in html


@pytest.mark.django_db
def test_scene_page_renders_every_camera_at_t(client_in):
    scene = SceneFactory(cameras={"front_wide": "file:///a.mp4", "rear": "file:///b.mp4"})
    html = client_in.get(f"/scenes/{scene.scene_id}?t=12&camera=rear").content.decode()
    assert f'data-scene-id="{scene.scene_id}" data-t="12.0" data-camera="rear"' in html
    assert html.count("<video ") == 2


@pytest.mark.django_db
def test_scene_page_falls_back_to_a_known_camera_and_clamps_t(client_in):
    scene = SceneFactory(cameras={"front_wide": "file:///a.mp4"})
    html = client_in.get(f"/scenes/{scene.scene_id}?t=99&camera=nope").content.decode()
    assert 'data-t="20.0" data-camera="front_wide"' in html


@pytest.mark.django_db
def test_scene_page_404_for_unknown_scene(client_in):
    assert client_in.get("/scenes/nope").status_code == 404


@pytest.mark.django_db
def test_sets_page_lists_sets(client_in, user):
    services.scene_set_create(owner=user, name="night-peds")
    assert b"night-peds" in client_in.get("/sets/").content


@pytest.mark.django_db
def test_set_page_renders_and_404s(client_in, user):
    scene_set = services.scene_set_create(owner=user, name="highway")
    assert b"highway" in client_in.get(f"/sets/{scene_set.pk}/").content
    assert client_in.get(f"/sets/{scene_set.pk + 1000}/").status_code == 404


@pytest.mark.django_db
def test_places_are_recent_start_points(client_in):
    SceneFactory(start_lat=35.5, start_lon=139.7)
    assert client_in.get("/ui/places.json").json()["points"] == [[35.5, 139.7]]


@pytest.mark.django_db
def test_scene_page_shows_the_disengagement_badge(client_in):
    scene = SceneFactory(disengagement_count=1)
    Disengagement.objects.create(scene=scene, t_s=3.5, kind="driver_override")
    assert b"1 disengagement" in client_in.get(f"/scenes/{scene.scene_id}").content


@pytest.mark.django_db
def test_map_tile_url_comes_from_settings(client_in, settings):
    settings.CATALOG_MAP_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    assert b"https://tiles.example/{z}/{x}/{y}.png" in client_in.get("/").content


@pytest.mark.django_db
def test_watches_page_lists_standing_queries_only(client_in, user):
    services.saved_search_create(
        owner=user, name="rain watch", search={"filters": {"tag": ["rain"]}}, watch={}
    )
    services.saved_search_create(owner=user, name="plain search", search={"text": "rain"})
    html = client_in.get("/watches/").content.decode()
    assert "rain watch" in html and "plain search" not in html
    assert 'data-search="{&quot;filters&quot;: {&quot;tag&quot;: [&quot;rain&quot;]}}"' in html
