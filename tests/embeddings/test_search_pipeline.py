"""Known answers end to end: real videos through the embedding pipeline (test-tiny), then
search. Twin videos (the same files under two scenes) must find each other first."""

import pytest

from embeddings.search import SearchRequest, run_search
from embeddings.services import scene_embed

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(make_scene, media_dir):
    scenes = [make_scene(seed) for seed in range(1, 6)]
    twin = make_scene(3)  # the same videos as scenes[2]
    for scene in [*scenes, twin]:
        assert scene_embed(scene_pk=scene.pk).state == "done"
    return scenes, twin


def search(**body):
    return run_search(SearchRequest.from_json(body)).results


def test_twin_videos_find_each_other_first(fleet):
    scenes, twin = fleet
    assert search(like_scene=scenes[2].scene_id)[0]["scene_id"] == twin.scene_id
    assert search(like_scene=twin.scene_id)[0]["scene_id"] == scenes[2].scene_id


def test_a_moment_finds_the_same_moment_of_the_twin(fleet):
    scenes, twin = fleet
    moment = {"scene_id": scenes[2].scene_id, "camera": "rear", "t_s": 4.0}
    best = search(like_frame=moment)[0]
    assert best["scene_id"] == twin.scene_id
    assert (best["frame"]["camera"], best["frame"]["t_s"]) == ("rear", 4.0)
    assert best["score"] == pytest.approx(1.0, abs=1e-3)


def test_text_search_returns_every_embedded_scene_with_a_thumbnail(fleet):
    scenes, twin = fleet
    results = search(text="a road with cars", limit=10)
    assert {r["scene_id"] for r in results} == {s.scene_id for s in [*scenes, twin]}
    assert all(r["frame"]["thumbnail_url"] for r in results)
