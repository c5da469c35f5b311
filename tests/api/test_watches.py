"""searches/ with a watch (a standing query) and searches/<id>/hits/."""

import pytest

from curation import standing
from curation.models import SavedSearch, StandingQuery
from tests.curation.helpers import make_set
from tests.curation.standing_support import World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BODY = {"filters": {"tag": ["rain"]}}
HOOK = "https://hooks.example.test/services/T000/B000/secret"


@pytest.fixture(autouse=True)
def scheduled(monkeypatch):
    from curation.tasks import run_standing_queries

    monkeypatch.setattr(run_standing_queries, "apply_async", lambda *a, **kw: None)


@pytest.fixture
def hooks_allowed(settings):
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.test"]


def create(api, watch, name="rainy", body=BODY):
    return api.post(
        "/api/v1/searches/", {"name": name, "search": body, "watch": watch}, format="json"
    )


def test_a_search_saved_with_a_watch(api, hooks_allowed):
    into = make_set(api.user, name="rain")
    response = create(api, {"min_score": 0.3, "into_set": into.pk, "webhook_url": HOOK})
    assert response.status_code == 201
    watch = response.json()["watch"]
    assert (watch["min_score"], watch["into_set"], watch["webhook_url"]) == (0.3, into.pk, HOOK)
    assert watch["runs_on"] == "ingested"


def test_a_search_saved_without_a_watch(api):
    response = api.post("/api/v1/searches/", {"name": "plain", "search": BODY}, format="json")
    assert response.json()["watch"] is None
    assert not StandingQuery.objects.exists()


def test_patch_sets_replaces_and_removes_the_watch(api):
    saved = create(api, None).json()
    url = f"/api/v1/searches/{saved['id']}/"
    watch = api.patch(url, {"watch": {"min_score": 0.5}}, format="json").json()["watch"]
    assert (watch["min_score"], watch["into_set"], watch["webhook_url"]) == (0.5, None, None)
    watch = api.patch(url, {"watch": {"into_set": None}}, format="json").json()["watch"]
    assert watch["min_score"] is None  # the object replaces the whole watch
    assert api.patch(url, {"watch": None}, format="json").json()["watch"] is None
    assert not StandingQuery.objects.exists()


def test_changing_the_search_changes_when_the_watch_runs(api):
    saved = create(api, {}).json()
    url = f"/api/v1/searches/{saved['id']}/"
    body = {"text": "rain at night"}
    assert api.patch(url, {"search": body}, format="json").json()["watch"]["runs_on"] == (
        "embedded"
    )


def test_a_webhook_host_outside_the_allow_list_is_400(api, hooks_allowed):
    response = create(api, {"webhook_url": "https://evil.example.test/hook"})
    assert response.status_code == 400
    assert "watch.webhook_url" in response.json()["errors"]
    assert not SavedSearch.objects.exists()


def test_webhooks_are_refused_when_no_host_is_allowed(api, settings):
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = []
    response = create(api, {"webhook_url": HOOK})
    assert response.status_code == 400
    assert "CATALOG_WEBHOOK_ALLOWED_HOSTS" in str(response.json()["errors"]["watch.webhook_url"])


@pytest.mark.parametrize(
    "watch, field",
    [
        ({"min_score": 2}, "watch.min_score"),
        ({"min_score": "high"}, "watch.min_score"),
        ({"into_set": 999999}, "watch.into_set"),
        ({"into_set": "abc"}, "watch.into_set"),
        ({"every": "hour"}, "watch.every"),
        ("yes", "watch"),
    ],
)
def test_bad_watch_settings_name_the_field(api, watch, field):
    response = create(api, watch)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not SavedSearch.objects.exists()


def test_into_set_must_be_editable_by_the_owner(api):
    theirs = make_set(UserFactory(), name="someone else's")
    response = create(api, {"into_set": theirs.pk})
    assert response.status_code == 400
    assert "watch.into_set" in response.json()["errors"]


def test_only_the_owner_sees_the_webhook_url_whole(api, anon_api, hooks_allowed):
    saved = create(api, {"webhook_url": HOOK}).json()
    other = UserFactory()
    anon_api.force_authenticate(other)
    seen = anon_api.get(f"/api/v1/searches/{saved['id']}/").json()["watch"]["webhook_url"]
    assert seen == "https://hooks.example.test/…"
    listed = anon_api.get("/api/v1/searches/").json()["results"][0]["watch"]["webhook_url"]
    assert listed == seen


def test_others_cannot_change_the_watch(api, anon_api):
    saved = create(api, {}).json()
    anon_api.force_authenticate(UserFactory())
    url = f"/api/v1/searches/{saved['id']}/"
    assert anon_api.patch(url, {"watch": None}, format="json").status_code == 403
    assert StandingQuery.objects.exists()


# --- hits --------------------------------------------------------------------------------


@pytest.fixture
def found(api):
    """A watch that found two new look-alike scenes, in two batches."""
    world = World()
    saved = create(api, {"min_score": 0.9}, name="like example", body={"like_scene": "example"})
    first, _ = world.arrive(lookalikes=1, others=2)
    standing.standing_queries_run()
    second, _ = world.arrive(lookalikes=1, others=2)
    standing.standing_queries_run()
    return saved.json()["id"], first + second


def test_hits_are_search_results_newest_first(api, found):
    search_id, (first, second) = found
    body = api.get(f"/api/v1/searches/{search_id}/hits/").json()
    assert body["count"] == 2
    assert [hit["scene_id"] for hit in body["results"]] == [second.scene_id, first.scene_id]
    hit = body["results"][0]
    assert hit["score"] >= 0.9 and hit["found_at"]
    assert hit["scene"]["scene_id"] == second.scene_id
    assert hit["frame"]["camera"] in ("front_wide", "rear")
    assert hit["url"].startswith(f"/scenes/{second.scene_id}?t=")


def test_hits_since_a_time(api, found):
    search_id, (_first, second) = found
    everything = api.get(f"/api/v1/searches/{search_id}/hits/").json()["results"]
    since = everything[1]["found_at"]
    newer = api.get(f"/api/v1/searches/{search_id}/hits/", {"since": since}).json()
    assert [hit["scene_id"] for hit in newer["results"]] == [second.scene_id]


def test_hits_are_paginated(api, found):
    search_id, _ = found
    page = api.get(f"/api/v1/searches/{search_id}/hits/", {"page_size": 1}).json()
    assert len(page["results"]) == 1 and page["next"]


def test_hits_of_an_unknown_search_are_404(api):
    assert api.get("/api/v1/searches/999999/hits/").status_code == 404


def test_a_bad_since_is_400(api, found):
    search_id, _ = found
    response = api.get(f"/api/v1/searches/{search_id}/hits/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()["errors"]
