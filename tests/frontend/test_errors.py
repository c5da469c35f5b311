"""Error pages: in the UI's look for people, JSON for API clients (frontend/errors.py)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = "tests.frontend.error_urls"


def assert_error_page(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'data-status="{status}"' in html
    assert 'class="topbar"' in html  # the UI's chrome, not Django's bare page
    assert "/static/frontend/css/app.css" in html
    assert 'href="/"' in html  # a way back
    return html


def test_unknown_scene_renders_our_404_page(client, user):
    client.force_login(user)
    response = client.get("/scenes/no-such-scene")
    html = assert_error_page(response, 404)
    assert "/scenes/no-such-scene" in html
    assert "frontend/error.html" in [t.name for t in response.templates]


def test_unknown_address_renders_our_404_page_signed_out(client):
    assert_error_page(client.get("/no/such/page/"), 404)


def test_the_404_page_escapes_the_address(client):
    html = assert_error_page(client.get("/<script>alert(1)</script>"), 404)
    assert "<script>alert" not in html


def test_unknown_api_object_stays_json(api):
    response = api.get("/api/v1/scenes/no-such-scene/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_unknown_api_address_is_json(api):
    response = api.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_permission_denied_renders_our_403_page(client, failing_urls):
    assert_error_page(client.get("/forbidden/"), 403)


def test_csrf_failure_renders_our_403_page(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": user.username, "password": "x"})
    html = assert_error_page(response, 403)
    assert "Reload the page" in html


def test_server_error_renders_our_500_page(failing_urls):
    client = Client(raise_request_exception=False)
    html = assert_error_page(client.get("/broken/"), 500)
    assert "a bug" not in html  # nothing of the failure leaks to the page


def test_api_server_error_is_json(failing_urls):
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/broken/")
    assert response.status_code == 500
    assert set(response.json()) == {"detail"}


def test_bad_request_renders_our_400_page(client):
    assert_error_page(client.get("/", HTTP_HOST="not-allowed.example"), 400)
