import pytest

pytestmark = pytest.mark.django_db


def test_health_needs_no_auth_and_reports_each_dependency(anon_api):
    body = anon_api.get("/api/v1/health/").json()
    assert body == {"database": "ok", "broker": "ok", "storage": "ok", "status": "ok"}


def test_health_reports_unreachable_storage(anon_api, settings, s3):
    settings.CATALOG_MEDIA_URI = "s3://no-such-bucket/media"
    response = anon_api.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["storage"].startswith("error")
