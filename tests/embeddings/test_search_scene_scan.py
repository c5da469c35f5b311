"""The scene scan: a scene query whose filter keeps too many frames to score them all
ranks the filter's scenes by their mean vectors, exactly, and scores every frame of the
best of them. Planned between the exact scan and the walks; a filter the planner sees
far beyond it is walked without being counted."""

import numpy as np
import pytest
from hypothesis import given

from embeddings.search import plan as sp
from embeddings.search import run_search
from embeddings.search import vector_sql as sv
from embeddings.search.plan import VectorScope
from tests.embeddings.search_support import (
    TINY_DIM,
    add_vectors,
    analyze,
    build_fleet,
    reference_ranking,
    scene_matches,
    unit,
)
from tests.embeddings.test_search_properties import PROPERTY, _request, filters, search_cases
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


def _query(seed=5) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=TINY_DIM))


def _night(model, cameras=()) -> VectorScope:
    return VectorScope(model.id, model.dim, "(s.local_hour >= %s)", (20,), tuple(cameras))


@pytest.fixture
def scan_everything(monkeypatch):
    """The scene scan for any filter keeping more than one scene, every scene re-scored."""
    monkeypatch.setattr(sp, "SCENE_QUERY_EXACT_MAX_FRAMES", 1)
    monkeypatch.setattr(sp, "SCENE_SCAN_RESCORED_FRAMES", 10**6)


def test_a_mid_sized_filter_plans_the_scene_scan(model, populated, scan_everything):
    plan = sp.choose_plan(_night(model), fetch=20, scenes=15, scene_scan=True)
    night = sorted(s.pk for s in populated if s.local_hour == 22)
    assert (plan.arm, sorted(plan.scene_pks)) == ("scenes", night)
    assert plan.rescored_scenes >= 2 * 15
    assert plan.describe()["rescored_scenes"] == plan.rescored_scenes


def test_frame_queries_never_plan_the_scene_scan(model, populated, scan_everything):
    hits, plan = sv.nearest_frames(_night(model), _query(), 10)
    assert plan.arm == "exact" and len(hits) == 10


def test_scene_scan_rescoring_every_scene_is_the_exact_answer(model, populated, scan_everything):
    for scope in (_night(model), _night(model, ["rear"])):
        exact, _ = sv.nearest_scenes(scope, _query(), 8, force="exact")
        scanned, plan = sv.nearest_scenes(scope, _query(), 8)
        assert plan.arm == "scenes"
        assert [(h.scene_pk, h.frame_id) for h in scanned] == [
            (h.scene_pk, h.frame_id) for h in exact
        ]
        assert [h.distance for h in scanned] == pytest.approx([h.distance for h in exact])


def test_scene_scan_keeps_min_score_and_the_excluded_scene(model, populated, scan_everything):
    everything, _ = sv.nearest_scenes(_night(model), _query(), 20)
    excluded = everything[0].scene_pk
    cut = everything[6].score
    scope = VectorScope(
        model.id, model.dim, "(s.local_hour >= %s)", (20,), exclude_scene_pk=excluded
    )
    hits, plan = sv.nearest_scenes(scope, _query(), 20, min_score=cut)
    assert plan.arm == "scenes"
    assert [h.scene_pk for h in hits] == [h.scene_pk for h in everything[1:7]]


def test_the_scene_nearest_by_mean_ranks_first_among_many_similar(model, monkeypatch):
    """Known answer among distractors: 60 scenes of one cluster, and one whose frames
    are the query itself; only 30 scenes are re-scored, chosen by their means."""
    monkeypatch.setattr(sp, "SCENE_QUERY_EXACT_MAX_FRAMES", 1)
    monkeypatch.setattr(sp, "SCENE_SCAN_RESCORED_FRAMES", 1)
    rng = np.random.default_rng(3)
    centre, query = rng.normal(size=TINY_DIM), _query(11)
    for _ in range(60):
        noisy = centre + 0.3 * query + rng.normal(scale=0.6, size=(6, TINY_DIM))
        add_vectors(SceneFactory(local_hour=22), model, unit(noisy))
    target = SceneFactory(local_hour=22)
    add_vectors(
        target, model, unit(np.tile(query, (6, 1)) + rng.normal(scale=0.01, size=(6, TINY_DIM)))
    )
    analyze()
    hits, plan = sv.nearest_scenes(_night(model), query, 5)
    assert plan.arm == "scenes" and plan.rescored_scenes == 30
    assert hits[0].scene_pk == target.pk and hits[0].score > 0.99


def test_scene_scan_never_walks_an_index(model, populated):
    pks = [s.pk for s in populated]
    sql, params = sv.scene_scan_sql(
        _night(model), sv.vector_literal(_query()), scene_pks=pks, rescored=10, limit=5
    )
    plan = sv.explain(sql, params, {"enable_seqscan": "off"})
    assert "hnsw" not in plan


def test_a_filter_estimated_far_beyond_the_scan_is_walked_uncounted(model, populated, monkeypatch):
    monkeypatch.setattr(sp, "SCENE_QUERY_EXACT_MAX_FRAMES", 1)
    monkeypatch.setattr(sp, "SCENE_SCAN_MAX_SCENES", 2)  # 20 night scenes: 10x the cap
    plan = sp.choose_plan(_night(model), fetch=20, scenes=15, scene_scan=True)
    assert plan.arm == "hnsw" and "estimate" in plan.reason and plan.scene_pks is None
    hits, plan = sv.nearest_scenes(_night(model), _query(), 5)
    night = {s.pk for s in populated if s.local_hour == 22}
    assert plan.arm == "hnsw" and len(hits) == 5 and {h.scene_pk for h in hits} <= night


def test_a_counted_filter_beyond_the_scan_is_walked(model, populated, monkeypatch):
    monkeypatch.setattr(sp, "SCENE_QUERY_EXACT_MAX_FRAMES", 1)
    monkeypatch.setattr(sp, "SCENE_SCAN_MAX_SCENES", 10)
    monkeypatch.setattr(sp, "ESTIMATE_TRUSTED_ABOVE", 100.0)
    plan = sp.choose_plan(_night(model), fetch=20, scenes=15, scene_scan=True)
    assert plan.arm == "hnsw" and plan.reason == "filter keeps > 10 scenes"


@pytest.fixture
def fleet(scan_everything):
    return build_fleet()


@PROPERTY
@given(case=search_cases(filters))
def test_scene_scan_of_every_scene_returns_the_exact_top_k(fleet, case):
    request, source = _request(fleet, case)
    expected = reference_ranking(
        fleet, source.vector, filters=request.filters, cameras=request.cameras,
        exclude=source.scene_id,
    )[: request.limit]  # fmt: skip
    response = run_search(request)
    assert response.plan["vector"]["arm"] in ("scenes", "exact")
    scenes = {s.scene_id: s for s in fleet.scenes}
    got = [(r["scene_id"], r["score"]) for r in response.results]
    assert all(scene_matches(scenes[scene_id], request.filters) for scene_id, _ in got)
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-4)
    for (got_id, got_score), (want_id, want_score) in zip(got, expected, strict=True):
        assert got_id == want_id or abs(got_score - want_score) < 1e-4
