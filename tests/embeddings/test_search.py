"""run_search: known answers, fusion with tags, the text cache, the response shape."""

import numpy as np
import pytest

from embeddings.encoder import get_encoder
from embeddings.models import Frame, SceneEmbedding
from embeddings.search import SearchRequest, run_search
from embeddings.search import text as search_text
from tests.embeddings.search_support import TINY_DIM, add_vectors, ensure_model, unit
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


def search(**body):
    return run_search(SearchRequest.from_json(body))


@pytest.fixture
def model():
    return ensure_model()


@pytest.fixture
def twins(model):
    """Eight unrelated scenes, and `twin` carrying exactly the vectors of `source`."""
    rng = np.random.default_rng(3)
    scenes = []
    for _ in range(8):
        scene = SceneFactory(cameras={"front_wide": "s3://f/a.mp4", "rear": "s3://f/b.mp4"})
        add_vectors(scene, model, unit(rng.normal(size=(6, TINY_DIM))), ("front_wide", "rear"))
        scenes.append(scene)
    source = scenes[3]
    twin = SceneFactory(scene_id="twin-of-3")
    stored = np.array(
        [f.embeddings.get().embedding for f in Frame.objects.filter(scene=source).order_by("id")],
        np.float32,
    )
    add_vectors(twin, model, stored, ("front_wide", "rear"))
    return source, twin, scenes


def test_a_scene_finds_its_twin_first(twins):
    source, twin, _ = twins
    response = search(like_scene=source.scene_id)
    assert response.results[0]["scene_id"] == twin.scene_id


def test_like_scene_never_returns_the_scene_itself(twins):
    source, _, _ = twins
    ids = [r["scene_id"] for r in search(like_scene=source.scene_id).results]
    assert source.scene_id not in ids and len(ids) == 8


def test_a_frame_finds_the_same_moment_of_the_twin(twins):
    source, twin, _ = twins
    body = {"scene_id": source.scene_id, "camera": "rear", "t_s": 2.0}
    best = search(like_frame=body).results[0]
    assert best["scene_id"] == twin.scene_id
    assert best["frame"]["camera"] == "rear" and best["frame"]["t_s"] == 2.0
    assert best["score"] == pytest.approx(1.0, abs=1e-3)


def test_like_frame_takes_the_sampled_frame_nearest_to_t(twins):
    source, _, _ = twins
    body = {"scene_id": source.scene_id, "camera": "rear", "t_s": 2.4}
    assert search(like_frame=body).results[0]["frame"]["t_s"] == 2.0


def test_like_scene_without_a_scene_vector_uses_its_frames(twins):
    source, twin, _ = twins
    SceneEmbedding.objects.filter(scene=source).delete()
    assert search(like_scene=source.scene_id).results[0]["scene_id"] == twin.scene_id


def test_results_follow_the_cameras_asked_for(twins):
    source, _, _ = twins
    results = search(like_scene=source.scene_id, cameras=["rear"]).results
    assert results and {r["frame"]["camera"] for r in results} == {"rear"}


def test_min_score_drops_weaker_matches(twins):
    source, twin, _ = twins
    body = {"scene_id": source.scene_id, "camera": "rear", "t_s": 0}
    results = search(like_frame=body, min_score=0.9).results
    assert [r["scene_id"] for r in results] == [twin.scene_id]


def test_limit_caps_the_results(twins):
    source, _, _ = twins
    assert len(search(like_scene=source.scene_id, limit=3).results) == 3


def test_result_names_the_moment_and_summarises_its_scene(twins):
    source, twin, _ = twins
    result = search(like_scene=source.scene_id).results[0]
    assert set(result) == {"scene_id", "score", "frame", "scene", "match"}
    assert set(result["frame"]) == {"camera", "t_s", "thumbnail_url", "signals"}
    assert result["scene"]["scene_id"] == twin.scene_id == result["scene_id"]
    assert result["scene"]["vehicle_id"] == twin.vehicle.vehicle_id
    assert result["match"]["vector"]["rank"] == 1


def test_thumbnail_urls_are_signed_media_links(twins, media_dir):
    source, twin, _ = twins
    Frame.objects.filter(scene=twin).update(thumbnail_uri=(media_dir / "t.jpg").as_uri())
    result = search(like_scene=source.scene_id).results[0]
    assert result["frame"]["thumbnail_url"].startswith("/api/v1/media/")


def test_response_reports_model_time_and_plan(twins):
    source, _, _ = twins
    response = search(like_scene=source.scene_id).as_dict()
    assert response["model"] == {"name": "test-tiny/untrained", "dim": 64, "untrained": True}
    assert response["took_ms"] > 0
    assert response["plan"]["vector"]["arm"] == "exact"
    assert response["fusion"] == {"method": "vector"}


def test_every_result_satisfies_the_filters(twins):
    source, _, scenes = twins
    fast = {s.scene_id for s in scenes[:4]}
    for s in scenes[:4]:
        s.max_speed_mps = 25.0
        s.save()
    results = search(like_scene=source.scene_id, filters={"max_speed_gte": 20}).results
    assert {r["scene_id"] for r in results} == fast - {source.scene_id}


# --- text ------------------------------------------------------------------------------


@pytest.fixture
def tagged(model):
    """Ten scenes of random vectors; only `night` is tagged night."""
    rng = np.random.default_rng(9)
    scenes = []
    for i in range(10):
        scene = SceneFactory(tags=["night", "urban"] if i == 6 else ["highway"])
        add_vectors(scene, model, unit(rng.normal(size=(4, TINY_DIM))))
        scenes.append(scene)
    search_text.text_vectors.clear()
    return scenes


def test_text_matching_a_tag_ranks_the_tagged_scene_first(tagged):
    response = search(text="pedestrians crossing at night")
    assert response.results[0]["scene_id"] == tagged[6].scene_id
    assert response.results[0]["match"]["tags"] == ["night"]
    assert response.fusion["method"] == "rrf"


def test_tags_match_word_forms(tagged):
    result = search(text="highways").results[0]
    assert result["match"]["tags"] == ["highway"]


def test_fused_results_keep_cosine_scores(tagged):
    results = search(text="night").results
    query = get_encoder().encode_text(["night"])[0]
    for r in results:
        assert -1.0 <= r["score"] <= 1.0
        assert r["score"] == pytest.approx(r["match"]["vector"]["score"])
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-4)


def test_text_without_tag_words_is_pure_vector_ranking(tagged):
    response = search(text="the of and")
    assert response.fusion == {"method": "vector"}
    scores = [r["score"] for r in response.results]
    assert scores == sorted(scores, reverse=True)


def test_repeated_text_skips_the_encoder(tagged, monkeypatch):
    encoder = get_encoder()
    calls = []
    original = encoder.encode_text
    monkeypatch.setattr(
        encoder, "encode_text", lambda texts: calls.append(texts) or original(texts)
    )
    first = search(text="A rainy  Highway")
    second = search(text="a rainy highway")
    assert len(calls) == 1
    assert (first.plan["text_cache"], second.plan["text_cache"]) == ("miss", "hit")
    assert [r["scene_id"] for r in first.results] == [r["scene_id"] for r in second.results]


def test_text_cache_is_bounded():
    cache = search_text.TextVectorCache(maxsize=2)
    for text in ("a", "b", "c"):
        cache.put("m", text, np.ones(3))
    assert len(cache) == 2 and cache.get("m", "a") is None and cache.get("m", "c") is not None


def test_text_search_before_any_vectors_returns_nothing(db):
    response = search(text="anything")
    assert response.results == [] and response.plan["arm"] == "none"


# --- filters only ----------------------------------------------------------------------


def test_filters_alone_list_scenes_newest_first(model):
    older = SceneFactory(vehicle__vehicle_id="veh-x")
    newer = SceneFactory(vehicle__vehicle_id="veh-x")
    SceneFactory(vehicle__vehicle_id="veh-y")
    response = search(filters={"vehicle": ["veh-x"]})
    assert [r["scene_id"] for r in response.results] == [newer.scene_id, older.scene_id]
    assert response.results[0]["score"] is None
    assert response.fusion == {"method": "filters"}


def test_filters_alone_show_the_first_moment(model):
    scene = SceneFactory(
        vehicle__vehicle_id="veh-x", cameras={"front_wide": "s3://f/a", "rear": "s3://f/b"}
    )
    add_vectors(scene, model, unit(np.ones((4, TINY_DIM))), ("front_wide", "rear"))
    result = search(filters={"vehicle": ["veh-x"]}, cameras=["rear"]).results[0]
    assert (result["frame"]["camera"], result["frame"]["t_s"]) == ("rear", 0.0)
