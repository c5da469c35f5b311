"""Per-user rates of POST search/ and POST ingest/, counted in the shared Redis cache."""

import pytest
import redis
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import SceneFactory, UserFactory

pytestmark = pytest.mark.django_db
SEARCH = {"filters": {"has_disengagement": False}}


@pytest.fixture
def rates(settings):
    settings.CATALOG_THROTTLE_RATES = {"search": "3/min", "ingest": "2/hour"}
    SceneFactory()


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_search_past_its_rate_is_429_with_retry_after(api, rates):
    statuses = [api.post("/api/v1/search/", SEARCH, format="json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.post("/api/v1/search/", SEARCH, format="json")
    assert set(refused.json()) == {"detail"}
    assert 0 < int(refused["Retry-After"]) <= 60


def test_each_user_has_a_rate_of_their_own(api, rates):
    for _ in range(3):
        api.post("/api/v1/search/", SEARCH, format="json")
    other = client_of(UserFactory())
    assert other.post("/api/v1/search/", SEARCH, format="json").status_code == 200


def test_reads_are_not_throttled(api, rates):
    assert {api.get("/api/v1/scenes/").status_code for _ in range(5)} == {200}


def test_ingest_past_its_rate_is_429(rates):
    staff = client_of(UserFactory(is_staff=True))  # who may ingest
    statuses = [staff.post("/api/v1/ingest/", {}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]  # an empty body is refused, and counted


def test_the_count_lives_in_the_shared_redis(api, rates, settings, user):
    """Every gunicorn worker and web host reads the same count: it is in Redis, where a
    connection of another process (here: a fresh client) finds it."""
    for _ in range(2):
        api.post("/api/v1/search/", SEARCH, format="json")
    other_process = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    (key,) = other_process.keys(f"{prefix}:*throttle:search:user-{user.pk}:*")
    assert int(other_process.get(key)) == 2


def test_rate_off_means_unthrottled(api, settings):
    settings.CATALOG_THROTTLE_RATES = {"search": None, "ingest": None}
    SceneFactory()
    assert {api.post("/api/v1/search/", SEARCH, format="json").status_code for _ in range(5)} == {
        200
    }


def test_an_unreachable_cache_lets_requests_through(api, settings):
    settings.CATALOG_THROTTLE_RATES = {"search": "1/min", "ingest": None}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "unix:///nonexistent/redis.sock",
        }
    }
    SceneFactory()
    assert {api.post("/api/v1/search/", SEARCH, format="json").status_code for _ in range(3)} == {
        200
    }
