"""Scenes' `quality_flags` and the `quality=ok|flagged` filter everywhere scenes are listed
or chosen: scenes/, scene detail, search results, and sets filled from a search."""

import numpy as np
import pytest

from tests.embeddings.search_support import TINY_DIM, add_vectors, ensure_model, unit
from tests.factories import SceneFactory
from tests.gnss import ingest, vehicle_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenes():
    """Ten scenes, newest last: low (1), outage day (4), both (7); the rest are fine."""
    model = ensure_model()
    rng = np.random.default_rng(3)
    out = []
    for i in range(10):
        scene = SceneFactory(
            gnss_outage=i in (4, 7),
            gnss_fix_rate=0.5 if i in (1, 7) else 0.98,
            tags=["rain"],
        )
        add_vectors(scene, model, unit(rng.normal(size=(2, TINY_DIM))))
        out.append(scene)
    return out


def ids(scenes, indexes) -> set[str]:
    return {scenes[i].scene_id for i in indexes}


FLAGGED, OK = (1, 4, 7), (0, 2, 3, 5, 6, 8, 9)


def test_scene_list_quality_flagged(api, scenes):
    body = api.get("/api/v1/scenes/?quality=flagged").json()
    assert {row["scene_id"] for row in body["results"]} == ids(scenes, FLAGGED)
    flags = {row["scene_id"]: row["quality_flags"] for row in body["results"]}
    assert flags[scenes[7].scene_id] == ["gnss_low", "gnss_outage"]
    assert flags[scenes[4].scene_id] == ["gnss_outage"]


def test_scene_list_quality_ok(api, scenes):
    body = api.get("/api/v1/scenes/?quality=ok").json()
    assert body["count"] == len(OK)
    assert {row["scene_id"] for row in body["results"]} == ids(scenes, OK)
    assert all(row["quality_flags"] == [] for row in body["results"])


def test_scene_list_without_quality_lists_all(api, scenes):
    assert api.get("/api/v1/scenes/").json()["count"] == 10


def test_scene_list_refuses_an_unknown_quality(api, scenes):
    response = api.get("/api/v1/scenes/?quality=good")
    assert response.status_code == 400
    assert "quality" in response.json()["errors"]


def test_scene_detail_has_quality_flags(api, tmp_path):
    records = vehicle_day("veh-01", "2026-11-28", [0.5, 1.0])
    ingest(tmp_path, "m", records)
    low, fine = (api.get(f"/api/v1/scenes/{r['scene_id']}/").json() for r in records)
    assert (low["quality_flags"], fine["quality_flags"]) == (["gnss_low"], [])


def test_filters_only_search_by_quality(api, scenes):
    body = {"filters": {"quality": "ok"}, "limit": 50}
    results = api.post("/api/v1/search/", body, format="json").json()["results"]
    assert {r["scene_id"] for r in results} == ids(scenes, OK)
    assert all(r["scene"]["quality_flags"] == [] for r in results)


def test_text_search_by_quality_returns_only_flagged(api, scenes):
    body = {"text": "rain", "filters": {"quality": "flagged"}, "limit": 50}
    results = api.post("/api/v1/search/", body, format="json").json()["results"]
    assert {r["scene_id"] for r in results} == ids(scenes, FLAGGED)
    assert {tuple(r["scene"]["quality_flags"]) for r in results} == {
        ("gnss_low",), ("gnss_outage",), ("gnss_low", "gnss_outage"),
    }  # fmt: skip


def test_search_refuses_an_unknown_quality(api, scenes):
    body = {"filters": {"quality": True}}
    response = api.post("/api/v1/search/", body, format="json")
    assert response.status_code == 400
    assert "filters.quality" in response.json()["errors"]


def test_set_filled_from_a_search_takes_only_ok_scenes(api, scenes):
    created = api.post("/api/v1/sets/", {"name": "clean"}, format="json").json()
    search = {"filters": {"quality": "ok", "tag": ["rain"]}, "limit": 50}
    added = api.post(f"/api/v1/sets/{created['id']}/items/", {"search": search}, format="json")
    assert added.json()["added"] == len(OK)
    items = api.get(f"/api/v1/sets/{created['id']}/items/").json()["results"]
    assert {item["scene_id"] for item in items} == ids(scenes, OK)
    assert all(item["scene"]["quality_flags"] == [] for item in items)
