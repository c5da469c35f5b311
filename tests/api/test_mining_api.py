"""The HTTP contract of mining, near-duplicates, labels, adding with options, leakage
and splits (the rules themselves are tested in tests/curation and tests/embeddings)."""

import csv
import io

import pytest

from catalog.moments import MOMENT_FIELDS
from tests.curation.helpers import make_set
from tests.curation.mining_support import look, mining_scene
from tests.embeddings.search_support import ensure_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenes():
    ensure_model()
    return {
        "pos": mining_scene(look(1), disengagements=[(3.0, "planner")]),
        "twin": mining_scene(look(1)),
        "twin2": mining_scene(look(1)),
        "other": mining_scene(look(2)),
    }


def test_mining_answers_positives_and_negatives_exactly(api, scenes):
    response = api.post(
        "/api/v1/mining/disengagements/", {"negatives_per_positive": 1}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"positives", "negatives"}
    assert body["positives"] == [
        {
            "scene_id": scenes["pos"].scene_id,
            "t_s": 3.0,
            "kind": "planner",
            "frame": {
                "camera": "front_wide",
                "t_s": 2.0,
                "thumbnail_url": None,
                "signals": dict.fromkeys(MOMENT_FIELDS),
            },
        }
    ]
    [negative] = body["negatives"]
    assert set(negative) == {"scene_id", "t_s", "score", "positive", "frame"}
    assert negative["positive"] == 0 and negative["scene_id"] in {
        scenes["twin"].scene_id,
        scenes["twin2"].scene_id,
    }


def test_mining_into_a_set_labels_items(api, scenes):
    scene_set = make_set(api.user)
    body = {"negatives_per_positive": 1, "into_set": scene_set.pk, "kinds": ["planner"]}
    assert api.post("/api/v1/mining/disengagements/", body, format="json").status_code == 200
    items = api.get(f"/api/v1/sets/{scene_set.pk}/items/").json()["results"]
    assert sorted(i["label"] for i in items) == ["negative", "positive"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"negatives_per_positive": 11}, "negatives_per_positive"),
        ({"filters": {"x": 1}}, "filters.x"),
        ({"sample": 1}, "sample"),
    ],
)
def test_mining_bad_input_is_a_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/mining/disengagements/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_mining_needs_a_signed_in_user(anon_api):
    assert anon_api.post("/api/v1/mining/disengagements/", {}, format="json").status_code in (
        401,
        403,
    )


def test_duplicates_lists_near_duplicates_most_similar_first(api, scenes):
    body = api.get(f"/api/v1/scenes/{scenes['twin'].scene_id}/duplicates/?min_score=0.98").json()
    assert {r["scene_id"] for r in body["results"]} == {
        scenes["pos"].scene_id,
        scenes["twin2"].scene_id,
    }
    assert all(r["score"] >= 0.98 for r in body["results"])


def test_duplicates_of_an_unknown_scene_is_404_and_a_bad_score_400(api, scenes):
    assert api.get("/api/v1/scenes/ghost/duplicates/").status_code == 404
    response = api.get(f"/api/v1/scenes/{scenes['twin'].scene_id}/duplicates/?min_score=2")
    assert response.status_code == 400 and "min_score" in response.json()["errors"]


def test_items_can_be_added_with_dedup_and_a_label(api, scenes):
    scene_set = make_set(api.user)
    ids = [scenes[k].scene_id for k in ("twin", "twin2", "other")]
    response = api.post(
        f"/api/v1/sets/{scene_set.pk}/items/",
        {"scene_ids": ids, "dedup": True, "label": "neg"},
        format="json",
    )
    body = response.json()
    assert (body["added"], body["skipped_duplicates"]) == (
        2,
        [{"scene_id": scenes["twin2"].scene_id, "duplicate_of": scenes["twin"].scene_id}],
    )
    assert body["skipped_duplicates_count"] == 1


def test_items_from_filters_and_a_sample(api, scenes):
    scene_set = make_set(api.user)
    body = {
        "filters": {"has_disengagement": False},
        "sample": {"n": 2, "strategy": "diverse", "seed": 1},
    }
    response = api.post(f"/api/v1/sets/{scene_set.pk}/items/", body, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["added"], response.json()["sample"]["strategy"]) == (2, "diverse")


def test_items_need_exactly_one_source(api, scenes):
    scene_set = make_set(api.user)
    body = {"filters": {}, "scene_ids": [scenes["pos"].scene_id]}
    response = api.post(f"/api/v1/sets/{scene_set.pk}/items/", body, format="json")
    assert response.status_code == 400 and "scene_ids" in response.json()["errors"]


def test_label_is_patchable_listed_filterable_and_exported(api, scenes):
    scene_set = make_set(api.user, [scenes["pos"], scenes["other"]])
    url = f"/api/v1/sets/{scene_set.pk}/items/{scenes['pos'].scene_id}/"
    response = api.patch(url, {"label": "positive"}, format="json")
    assert (response.status_code, response.json()["label"]) == (200, "positive")
    too_long = api.patch(url, {"label": "x" * 65}, format="json")
    assert too_long.status_code == 400 and "label" in too_long.json()["errors"]
    listed = api.get(f"/api/v1/sets/{scene_set.pk}/items/?label=positive").json()["results"]
    assert [i["scene_id"] for i in listed] == [scenes["pos"].scene_id]
    api.post(f"/api/v1/sets/{scene_set.pk}/versions/", {}, format="json")
    manifest = api.get(f"/api/v1/sets/{scene_set.pk}/versions/1/manifest?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(manifest.streaming_content).decode())))
    assert {r["scene_id"]: r["label"] for r in rows} == {
        scenes["pos"].scene_id: "positive",
        scenes["other"].scene_id: "",
    }


@pytest.fixture
def two_versions(api, scenes):
    a = make_set(api.user, [scenes["twin"]], name="a")
    b = make_set(api.user, [scenes["twin2"], scenes["other"]], name="b")
    for s in (a, b):
        assert api.post(f"/api/v1/sets/{s.pk}/versions/", {}, format="json").status_code == 201
    return a, b


def test_leakage_reports_pairs_with_reasons(api, two_versions, scenes):
    a, b = two_versions
    body = api.get(f"/api/v1/sets/{a.pk}/versions/1/leakage?against={b.pk}:1").json()
    assert body["count"] == 1
    assert body["pairs"] == [
        {"a": scenes["twin"].scene_id, "b": scenes["twin2"].scene_id, "reasons": ["near_duplicate"]}
    ]
    assert body["limit"] == 1000


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("against=x", "against"),
        ("against=1:1&min_score=0.5", "min_score"),
        ("against=1:1&limit=20000", "limit"),
        ("against=999999:1", "against"),
        ("", "against"),
    ],
)
def test_leakage_bad_parameters_are_a_400(api, two_versions, query, field):
    a, _ = two_versions
    response = api.get(f"/api/v1/sets/{a.pk}/versions/1/leakage?{query}")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_leakage_of_a_missing_version_is_404(api, two_versions):
    a, b = two_versions
    assert api.get(f"/api/v1/sets/{a.pk}/versions/7/leakage?against={b.pk}:1").status_code == 404


def test_split_creates_the_parts(api, scenes):
    scene_set = make_set(api.user, list(scenes.values()), name="all")
    response = api.post(
        f"/api/v1/sets/{scene_set.pk}/split/",
        {"parts": {"train": 0.5, "val": 0.5}, "seed": 3},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(s["part"], s["name"]) for s in body["sets"]] == [
        ("train", "all / train"),
        ("val", "all / val"),
    ]
    assert sum(s["count"] for s in body["sets"]) == 4
    # The three copies of one footage are one group: 3 + 1.
    assert sorted(s["count"] for s in body["sets"]) == [1, 3]


def test_split_bad_parts_is_a_400(api, scenes):
    scene_set = make_set(api.user, [scenes["pos"]])
    response = api.post(
        f"/api/v1/sets/{scene_set.pk}/split/", {"parts": {"train": 2}}, format="json"
    )
    assert response.status_code == 400 and "parts" in response.json()["errors"]
