"""GET /metrics: Prometheus text for staff or the scraper's bearer token; request latency
by route, the broker's queues, the embedding backlog and ingest outcomes."""

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Job
from tests.factories import SceneFactory, UserFactory

pytestmark = pytest.mark.django_db


def samples(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_anonymous_get_401_and_users_403(client, api):
    assert client.get("/metrics").status_code == 401
    assert api.get("/metrics").status_code == 403


def test_the_bearer_token_opens_it(client, settings):
    settings.CATALOG_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code in (401, 403)


def test_a_staff_api_token_opens_it():
    staff = UserFactory(is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    assert client.get("/metrics").status_code == 200


def test_requests_are_timed_by_route(staff, api):
    api.get("/api/v1/scenes/")
    found = samples(staff.get("/metrics"))
    key = ("catalog_http_request_duration_seconds_count",
           (("method", "GET"), ("view", "api:scene-list")))  # fmt: skip
    assert found[key] >= 1
    status = ("catalog_http_requests_total",
              (("method", "GET"), ("status", "200"), ("view", "api:scene-list")))  # fmt: skip
    assert found[status] >= 1


def test_embedding_backlog_counts_scenes_never_queued_as_pending(staff):
    SceneFactory.create_batch(3)
    found = samples(staff.get("/metrics"))
    pending = {k: v for k, v in found.items() if k[0] == "catalog_embedding_scenes"}
    assert sum(v for k, v in pending.items() if ("state", "pending") in k[1]) == 3


def test_ingest_outcomes_add_up_over_jobs(staff):
    for inserted, rejected in ((5, 1), (7, 0)):
        Job.objects.create(
            kind=Job.Kind.INGEST,
            state=Job.State.DONE,
            params={},
            result={"inserted": inserted, "updated": 2, "unchanged": 0, "rejected_count": rejected},
        )
    Job.objects.create(kind=Job.Kind.INGEST, state=Job.State.FAILED, params={}, result={})
    found = samples(staff.get("/metrics"))
    assert found[("catalog_ingest_lines_total", (("outcome", "inserted"),))] == 12
    assert found[("catalog_ingest_lines_total", (("outcome", "updated"),))] == 4
    assert found[("catalog_ingest_lines_total", (("outcome", "rejected"),))] == 1
    assert found[("catalog_jobs", (("kind", "ingest"), ("state", "failed")))] == 1


def test_broker_queue_lengths_are_reported(staff):
    found = samples(staff.get("/metrics"))
    queues = {dict(k[1])["queue"] for k in found if k[0] == "catalog_celery_queue_messages"}
    assert queues == {"celery", "maintenance"}
    assert ("catalog_celery_unacked_messages", ()) in found
