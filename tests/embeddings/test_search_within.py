"""Searches restricted to a few scenes (standing queries): exact answers among just those
scenes, whatever the plan would be over the whole catalog."""

from dataclasses import replace

import numpy as np
import pytest

from catalog.filter_sql import scene_filter_sql
from catalog.filters import SceneFilters, parse_json_filters
from embeddings.search import SearchRequest, run_search, within
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
    from embeddings.models import Frame

    Frame.objects.filter(scene__in=fleet.scenes).update(speed_mps=20.0)
    request = SearchRequest.from_json({"at_moment": {"speed_mps_gte": 10}, "limit": 500})
    response = run_search(request, scene_pks=[s.pk for s in newcomers[:3]])
    assert {r["scene_id"] for r in response.results} == {s.scene_id for s in newcomers[:3]}


def test_no_scenes_finds_nothing(fleet):
    request = SearchRequest.from_json({"like_scene": fleet.scenes[0].scene_id})
    assert run_search(request, scene_pks=[]).results == []


# --- the in-memory answers are the SQL plan's answers --------------------------------------


def _sql_exact(scope, query, limit, pks):
    from embeddings.search.vector_sql import exact_scenes_sql, run_sql, vector_literal

    plain = replace(scope, within=None)  # the same conditions, answered by SQL
    return run_sql(*exact_scenes_sql(plain, vector_literal(query), limit, scene_pks=pks))


@pytest.mark.parametrize("cameras", [(), ("rear",)])
def test_in_memory_best_moments_equal_the_exact_sql_plan(fleet, newcomers, cameras):
    query = unit(np.random.default_rng(7).normal(size=TINY_DIM))
    pks = [s.pk for s in newcomers]
    scope = VectorScope(
        fleet.model.id, fleet.model.dim, cameras=cameras, exclude_scene_pk=pks[0]
    ).restricted_to(pks)
    with within.batch_cache():
        hits, _ = nearest_scenes(scope, query, 8)
        again, _ = nearest_scenes(scope, query, 8)  # from the cached batch
    expected = _sql_exact(scope, query, 8, pks)
    assert [(h.scene_pk, h.frame_id) for h in hits] == [(h.scene_pk, h.frame_id) for h in expected]
    assert [h.distance for h in hits] == pytest.approx([h.distance for h in expected], abs=1e-4)
    assert again == hits


def test_in_memory_moment_conditions_are_the_sql_ones(fleet, newcomers):
    from embeddings.models import Frame
    from embeddings.search.moments import parse_at_moment

    pks = [s.pk for s in newcomers]
    frames = list(Frame.objects.filter(scene_id__in=pks).order_by("id"))
    for i, frame in enumerate(frames):
        Frame.objects.filter(pk=frame.pk).update(speed_mps=float(i % 7))
    conditions = parse_at_moment("at_moment", {"speed_mps_gte": 4})
    scope = VectorScope(fleet.model.id, fleet.model.dim).with_moments(conditions)
    scope = scope.restricted_to(pks)
    query = unit(np.random.default_rng(8).normal(size=TINY_DIM))
    hits, _ = nearest_scenes(scope, query, 50)
    assert [(h.scene_pk, h.frame_id) for h in hits] == [
        (h.scene_pk, h.frame_id) for h in _sql_exact(scope, query, 50, pks)
    ]
    speeds = dict(Frame.objects.filter(scene_id__in=pks).values_list("id", "speed_mps"))
    assert hits and all(speeds[h.frame_id] >= 4 for h in hits)


def test_in_memory_scene_similarity_equals_the_sql_one(fleet, newcomers):
    from embeddings.similarity import similar_scenes

    pks = [s.pk for s in newcomers]
    query = unit(np.random.default_rng(9).normal(size=TINY_DIM))
    restricted = VectorScope(fleet.model.id, fleet.model.dim).restricted_to(pks)
    hits, plan = similar_scenes(restricted, query, 5, min_score=-1)
    expected, _ = similar_scenes(replace(restricted, within=None), query, 5, force="exact")
    assert plan["arm"] == "exact"
    assert [h.scene_pk for h in hits] == [h.scene_pk for h in expected]
    assert [h.score for h in hits] == pytest.approx([h.score for h in expected], abs=1e-4)


# --- ranking many requests at once: the same answers as one by one -------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"text": "night pedestrian crossing", "limit": 20},
        {"text": "rain on the highway", "filters": {"max_speed_gte": 10}, "limit": 20},
        {"text": "the of and", "limit": 20},  # only stop words: no tag ranking
        {"like_scene": "EXAMPLE", "min_score": -1, "limit": 20},
        {"like_scene": "EXAMPLE", "filters": {"tag": ["night"]}, "cameras": ["rear"]},
        {"filters": {"max_speed_gte": 15}, "limit": 20},
    ],
)
def test_primed_rankings_equal_the_ones_made_alone(fleet, newcomers, body):
    """`prime_within` evaluates the filters, distances and matched tags of many requests
    together; each request's ranking inside must be the one it gets on its own."""
    from embeddings.search.run import configured_model, example_vectors, prime_within, rank_search

    body = {**body}
    if body.get("like_scene") == "EXAMPLE":
        body["like_scene"] = next(s for s in fleet.scenes if s not in newcomers).scene_id
    request = SearchRequest.from_json(body)
    others = [SearchRequest.from_json({"text": f"rain {i}"}) for i in range(3)]
    pks = [s.pk for s in newcomers]
    alone = rank_search(request, scene_pks=pks)
    model = configured_model()
    examples = example_vectors([body["like_scene"]], model) if "like_scene" in body else None
    with within.batch_cache():
        prime_within([*others, request, *others], model, pks, examples)
        together = rank_search(request, scene_pks=pks, model=model, examples=examples)
    assert alone.found, "the case must find something to compare"
    # Distances from one matrix product may differ from one-by-one products in the
    # last float32 bit (as pgvector's do from both): scores are compared to 1e-5.
    assert [_without_scores(f) for f in together.found] == [_without_scores(f) for f in alone.found]
    assert [x for f in together.found for x in _scores(f)] == pytest.approx(
        [x for f in alone.found for x in _scores(f)], abs=1e-5
    )


def _without_scores(found):
    match = {k: v for k, v in found.match.items() if k != "vector"}
    vector = {k: v for k, v in found.match.get("vector", {}).items() if k != "score"}
    return found.scene_pk, found.frame_id, match, vector


def _scores(found):
    return [found.score or 0.0, found.match.get("vector", {}).get("score", 0.0)]


def test_primed_filters_are_the_sql_filters(fleet, newcomers):
    """One query evaluating many filters over the batch passes the same scenes as each
    filter's own query."""
    pks = [s.pk for s in newcomers]
    scopes = []
    for filters in ({"max_speed_gte": 10}, {"tag": ["night"]}, {"max_speed_lte": 5}):
        sql, params = scene_filter_sql(parse_json_filters(filters), "s")
        scopes.append(
            VectorScope(fleet.model.id, fleet.model.dim, sql, tuple(params)).restricted_to(pks)
        )
    alone = [sorted(within._passing_scenes(scope).tolist()) for scope in scopes]
    with within.batch_cache():
        within.prime_filters(scopes)
        primed = [sorted(within._passing_scenes(scope).tolist()) for scope in scopes]
    assert primed == alone
    assert any(alone) and any(len(passing) < len(pks) for passing in alone)
