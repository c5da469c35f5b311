"""POST /api/v1/search/: authentication, the response shape, status codes."""

import numpy as np
import pytest

from tests.embeddings.search_support import TINY_DIM, add_vectors, ensure_model, unit
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/search/"


@pytest.fixture
def scenes():
    model = ensure_model()
    rng = np.random.default_rng(2)
    out = []
    for _ in range(5):
        scene = SceneFactory(tags=["rain"])
        add_vectors(scene, model, unit(rng.normal(size=(3, TINY_DIM))))
        out.append(scene)
    return out


def test_search_needs_authentication(anon_api):
    assert anon_api.post(URL, {"text": "rain"}, format="json").status_code in (401, 403)


def test_text_search_answers_results_model_and_timing(api, scenes):
    response = api.post(URL, {"text": "rain on the highway", "limit": 3}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "model", "took_ms", "fusion", "plan"}
    assert len(body["results"]) == 3
    first = body["results"][0]
    assert first["frame"]["camera"] == "front_wide"
    frame = first["frame"]
    assert first["url"] == (
        f"/scenes/{first['scene_id']}?t={frame['t_s']:g}&camera={frame['camera']}"
    )
    assert first["scene"]["scene_id"] == first["scene_id"]
    assert first["match"]["tags"] == ["rain"]
    assert body["model"]["untrained"] is True


def test_like_scene_search(api, scenes):
    response = api.post(URL, {"like_scene": scenes[0].scene_id}, format="json")
    assert response.status_code == 200
    assert scenes[0].scene_id not in {r["scene_id"] for r in response.json()["results"]}


def test_filters_only_search(api, scenes):
    response = api.post(URL, {"filters": {"tag": ["rain"]}, "limit": 2}, format="json")
    ids = [r["scene_id"] for r in response.json()["results"]]
    assert ids == [scenes[4].scene_id, scenes[3].scene_id]


def test_limit_out_of_range_is_a_400_naming_limit(api, scenes):
    response = api.post(URL, {"text": "rain", "limit": 0}, format="json")
    assert response.status_code == 400
    assert "limit" in response.json()["errors"] and "limit" in response.json()["detail"]


def test_bad_filter_value_is_a_400_naming_the_filter(api, scenes):
    response = api.post(URL, {"text": "rain", "filters": {"hour_gte": 25}}, format="json")
    assert response.status_code == 400
    assert "filters.hour_gte" in response.json()["errors"]


def test_empty_search_is_a_400(api, scenes):
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400 and "text" in response.json()["errors"]


def test_unknown_like_scene_is_a_404(api, scenes):
    response = api.post(URL, {"like_scene": "no-such-scene"}, format="json")
    assert response.status_code == 404
    assert "no-such-scene" in response.json()["detail"]


def test_get_is_not_allowed(api):
    assert api.get(URL).status_code == 405


def test_patterns_group_every_result_once(api, scenes):
    body = {"filters": {"tag": ["rain"]}, "patterns": 2}
    response = api.post(URL, body, format="json").json()
    ids = sorted(r["scene_id"] for r in response["results"])
    assert sorted(s for p in response["patterns"] for s in p["scene_ids"]) == ids
    assert {r["pattern"] for r in response["results"]} == {p["id"] for p in response["patterns"]}
