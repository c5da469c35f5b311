"""Searches restricted to a few scenes (standing queries): exact answers among just those
scenes, whatever the plan would be over the whole catalog."""

import numpy as np
import pytest

from catalog.filters import SceneFilters, parse_json_filters
from catalog.selectors import scene_filter_sql
from embeddings.search import SearchRequest, run_search
from embeddings.search.plan import VectorScope, choose_plan
from embeddings.search.vector_sql import nearest_scenes
from tests.embeddings.search_support import TINY_DIM, build_fleet, reference_ranking, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    return build_fleet(n_scenes=60)


@pytest.fixture
def newcomers(fleet):
    """Twelve scenes of the fleet, as if they had just finished embedding."""
    return [s for i, s in enumerate(fleet.scenes) if i % 5 == 2]


def _restricted_reference(fleet, query, within, *, filters=None, cameras=None):
    allowed = {s.scene_id for s in within}
    ranking = reference_ranking(fleet, query, filters=filters or SceneFilters(), cameras=cameras)
    return [(scene_id, score) for scene_id, score in ranking if scene_id in allowed]


def test_restricted_ranking_is_exact_among_the_given_scenes(fleet, newcomers):
    query = unit(np.random.default_rng(5).normal(size=TINY_DIM))
    scope = VectorScope(fleet.model.id, fleet.model.dim).restricted_to([s.pk for s in newcomers])
    hits, plan = nearest_scenes(scope, query, 50, force="hnsw")
    expected = _restricted_reference(fleet, query, newcomers)
    assert plan.arm == "exact" and "restricted" in plan.reason
    assert [h.scene_pk for h in hits] == [
        next(s.pk for s in newcomers if s.scene_id == scene_id) for scene_id, _ in expected
    ]
    assert [round(h.score, 3) for h in hits] == [round(score, 3) for _, score in expected]


def test_restricted_ranking_applies_filters_and_cameras(fleet, newcomers):
    query = unit(np.random.default_rng(6).normal(size=TINY_DIM))
    filters = parse_json_filters({"max_speed_gte": 10})
    filter_sql, filter_params = scene_filter_sql(filters, "s")
    scope = VectorScope(
        fleet.model.id, fleet.model.dim, filter_sql, tuple(filter_params), cameras=("rear",)
    ).restricted_to([s.pk for s in newcomers])
    hits, _ = nearest_scenes(scope, query, 50)
    expected = _restricted_reference(fleet, query, newcomers, filters=filters, cameras=("rear",))
    assert expected and len(expected) < len(newcomers)
    assert [h.score for h in hits] == pytest.approx([score for _, score in expected], abs=2e-3)
    assert {h.camera for h in hits} == {"rear"}


def test_a_restricted_plan_never_walks_the_index(fleet, newcomers):
    scope = VectorScope(fleet.model.id, fleet.model.dim).restricted_to([s.pk for s in newcomers])
    plan = choose_plan(scope, fetch=10_000, force="hnsw")
    assert plan.arm == "exact"
    assert sorted(plan.scene_pks) == sorted(s.pk for s in newcomers)


def test_run_search_with_scene_pks_returns_only_those_scenes(fleet, newcomers):
    other = next(s for s in fleet.scenes if s not in newcomers)
    request = SearchRequest.from_json({"like_scene": other.scene_id, "limit": 500})
    response = run_search(request, scene_pks=[s.pk for s in newcomers])
    assert {r["scene_id"] for r in response.results} == {s.scene_id for s in newcomers}
    assert response.plan["vector"]["arm"] == "exact"
    everything = run_search(request)
    assert len(everything.results) == len(fleet.scenes) - 1


def test_a_filters_only_search_restricted_to_scenes(fleet, newcomers):
    request = SearchRequest.from_json({"filters": {"max_speed_gte": 15}, "limit": 500})
    response = run_search(request, scene_pks=[s.pk for s in newcomers])
    expected = {s.scene_id for s in newcomers if s.max_speed_mps >= 15}
    assert {r["scene_id"] for r in response.results} == expected


def test_a_moments_search_restricted_to_scenes(fleet, newcomers):
    from embeddings.models import FrameEmbedding

    FrameEmbedding.objects.filter(scene__in=fleet.scenes).update(speed_mps=20.0)
    request = SearchRequest.from_json({"at_moment": {"speed_mps_gte": 10}, "limit": 500})
    response = run_search(request, scene_pks=[s.pk for s in newcomers[:3]])
    assert {r["scene_id"] for r in response.results} == {s.scene_id for s in newcomers[:3]}


def test_no_scenes_finds_nothing(fleet):
    request = SearchRequest.from_json({"like_scene": fleet.scenes[0].scene_id})
    assert run_search(request, scene_pks=[]).results == []
