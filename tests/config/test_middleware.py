"""While the database or the broker cannot be reached, pages and endpoints answer 503 with
the reason, never 500. The outage is real: the connection goes to a socket no server
listens on."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def database_down(django_db_blocker):
    """The default connection pointed at a folder where no PostgreSQL listens."""
    with django_db_blocker.unblock():
        host = connection.settings_dict["HOST"]
        connection.close()
        connection.settings_dict["HOST"] = "/nonexistent-postgres"
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["HOST"] = host


def test_api_answers_503_with_the_reason_while_the_database_is_down(database_down):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "a" * 40)
    response = client.get("/api/v1/scenes/")
    assert response.status_code == 503
    assert response.json() == {"detail": "the database is unavailable"}
    assert response["Retry-After"]


def test_pages_answer_503_with_the_error_page_while_the_database_is_down(database_down, client):
    client.cookies["sessionid"] = "a" * 32  # a session to look up
    response = client.get("/")
    assert response.status_code == 503
    assert b'data-status="503"' in response.content
    assert b"database is unavailable" in response.content


def test_health_reports_the_database_down(database_down, client):
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["database"].startswith("error")


@pytest.mark.django_db
def test_status_answers_503_while_the_broker_cache_is_down(client, settings):
    client.force_login(UserFactory())
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "unix:///nonexistent/redis.sock",
        }
    }
    response = client.get("/api/v1/status/")
    assert response.status_code == 503
    assert b"Redis" in response.content
