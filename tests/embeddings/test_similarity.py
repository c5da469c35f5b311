"""Whole-scene similarity: known answers among many look-alikes, filters, plans."""

import numpy as np
import pytest

from catalog.filter_sql import scene_filter_sql
from catalog.filters import SceneFilters
from embeddings import similarity
from embeddings.models import FrameEmbedding
from embeddings.search import SearchRequest, run_search
from embeddings.search.plan import VectorScope
from tests.embeddings.search_support import TINY_DIM, add_vectors, ensure_model, unit
from tests.factories import SceneFactory, VehicleFactory

pytestmark = pytest.mark.django_db
DISTRACTORS = 300


@pytest.fixture
def look_alikes():
    """A source scene, its identical twin, and 300 scenes whose every frame is a close
    variant of one of the source's frames (the crowd a frame-level ranking drowns in)."""
    model = ensure_model()
    rng = np.random.default_rng(5)
    base = unit(rng.normal(size=(10, TINY_DIM)))
    source, twin = SceneFactory(), SceneFactory()
    add_vectors(source, model, base)
    add_vectors(twin, model, base)
    crowd = []
    for i in range(DISTRACTORS):
        scene = SceneFactory(vehicle=VehicleFactory(vehicle_id=f"veh-crowd-{i % 3}"))
        # Half the frames nearly identical to the source's, the rest elsewhere.
        frames = base.copy()
        frames[i % 2 :: 2] = unit(rng.normal(size=(5, TINY_DIM)))
        add_vectors(scene, model, unit(frames + rng.normal(scale=0.02, size=frames.shape)))
        crowd.append(scene)
    return model, source, twin, crowd


def test_identical_scene_comes_first_with_score_near_one(look_alikes):
    _, source, twin, _ = look_alikes
    result = run_search(SearchRequest.from_json({"like_scene": source.scene_id, "limit": 10}))
    first = result.results[0]
    assert first["scene_id"] == twin.scene_id and first["score"] >= 0.99
    assert all(r["score"] < first["score"] for r in result.results[1:])
    assert result.plan["ranking"] == "scene"


def test_each_result_names_its_best_matching_moment(look_alikes):
    model, source, twin, _ = look_alikes
    first = run_search(SearchRequest.from_json({"like_scene": source.scene_id})).results[0]
    query = similarity.scene_vectors(scene_pks=[source.pk], model=model)[source.pk]
    frames = FrameEmbedding.objects.filter(scene=twin, model=model)
    best = max(frames, key=lambda fe: float(np.asarray(fe.embedding) @ query))
    assert (first["frame"]["camera"], first["frame"]["t_s"]) == (best.camera, best.frame.t_s)


@pytest.mark.parametrize("force", ["exact", "hnsw"])
def test_both_plans_agree_with_numpy(look_alikes, force):
    model, source, _, crowd = look_alikes
    vectors = similarity.scene_vectors(scene_pks=[s.pk for s in crowd], model=model)
    query = similarity.scene_vectors(scene_pks=[source.pk], model=model)[source.pk]
    expected = sorted(vectors, key=lambda pk: -float(vectors[pk] @ query))[:10]
    scope = VectorScope(model.id, model.dim)
    filters = SceneFilters(vehicle=("veh-crowd-0", "veh-crowd-1", "veh-crowd-2"))
    sql, params = scene_filter_sql(filters, "s")
    scope = VectorScope(model.id, model.dim, sql, tuple(params))
    hits, plan = similarity.similar_scenes(scope, query, 10, force=force)
    assert plan["arm"] == force
    assert [h.scene_pk for h in hits] == expected


def test_a_filter_keeps_every_result_inside_it(look_alikes):
    _, source, _, crowd = look_alikes
    body = {"like_scene": source.scene_id, "filters": {"vehicle": ["veh-crowd-1"]}}
    results = run_search(SearchRequest.from_json(body)).results
    wanted = {s.scene_id for s in crowd if s.vehicle.vehicle_id == "veh-crowd-1"}
    assert results and {r["scene_id"] for r in results} <= wanted


def test_near_duplicates_are_the_scenes_above_the_threshold(look_alikes):
    model, source, twin, crowd = look_alikes
    hits = similarity.near_duplicates(scene_pk=source.pk, model=model, min_score=0.98)
    assert [h.scene_pk for h in hits][:1] == [twin.pk]
    assert all(h.score >= 0.98 for h in hits)
    vectors = similarity.scene_vectors(scene_pks=[s.pk for s in crowd], model=model)
    query = similarity.scene_vectors(scene_pks=[source.pk], model=model)[source.pk]
    above = {pk for pk, v in vectors.items() if float(v @ query) >= 0.981}
    assert above <= {h.scene_pk for h in hits}
