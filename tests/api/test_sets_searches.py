"""searches/: saved search bodies (name + search), owned, readable by any signed-in user."""

import pytest

from curation.models import SavedSearch

pytestmark = pytest.mark.django_db

BODY = {"text": "pedestrians crossing at night", "limit": 20}


def test_save_and_list(api):
    created = api.post("/api/v1/searches/", {"name": "night peds", "search": BODY}, format="json")
    assert created.status_code == 201
    listed = api.get("/api/v1/searches/?owner=me").json()
    assert [(s["name"], s["search"], s["owner"]) for s in listed["results"]] == [
        ("night peds", BODY, api.user.username)
    ]


def test_invalid_search_body_names_the_field(api):
    response = api.post("/api/v1/searches/", {"name": "bad", "search": {"limit": 0}}, format="json")
    assert response.status_code == 400
    assert "search.limit" in response.json()["errors"]
    assert not SavedSearch.objects.exists()


def test_duplicate_name_is_400(api):
    api.post("/api/v1/searches/", {"name": "a", "search": BODY}, format="json")
    response = api.post("/api/v1/searches/", {"name": "a", "search": BODY}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_rename_and_delete(api):
    saved = api.post("/api/v1/searches/", {"name": "a", "search": BODY}, format="json").json()
    url = f"/api/v1/searches/{saved['id']}/"
    assert api.patch(url, {"name": "b"}, format="json").json()["name"] == "b"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
