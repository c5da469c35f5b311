"""Properties over random filter combinations on a small fleet:
every result satisfies every filter, and a narrow filter loses no match (the results are
exactly the brute-force top-k within the filter)."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalog.errors import InvalidInput
from embeddings.search import SearchRequest, run_search
from embeddings.search import plan as sp
from tests.embeddings.search_support import (
    CAMERAS,
    TAGS,
    VEHICLES,
    build_fleet,
    reference_ranking,
    scene_matches,
)

pytestmark = pytest.mark.django_db

OPTIONAL_FILTERS = {
    "vehicle": st.lists(st.sampled_from(VEHICLES), min_size=1, max_size=2, unique=True),
    "tag": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
    "max_speed_gte": st.integers(0, 30),
    "max_speed_lte": st.integers(0, 30),
    "mean_speed_gte": st.integers(0, 20),
    "hour_gte": st.integers(0, 23),
    "hour_lte": st.integers(0, 23),
    "has_disengagement": st.booleans(),
    "gnss_fix_rate_gte": st.sampled_from([0.1, 0.5, 0.9]),
}
filters = st.fixed_dictionaries({}, optional=OPTIONAL_FILTERS)
# One vehicle and one tag keep a few of the 60 scenes; more filters may narrow further.
narrow_filters = st.fixed_dictionaries(
    {
        "vehicle": st.lists(st.sampled_from(VEHICLES), min_size=1, max_size=1),
        "tag": st.lists(st.sampled_from(TAGS), min_size=1, max_size=1),
    },
    optional={k: v for k, v in OPTIONAL_FILTERS.items() if k not in ("vehicle", "tag")},
)


def search_cases(filter_strategy):
    return st.fixed_dictionaries(
        {
            "filters": filter_strategy,
            "frame": st.integers(0, 10_000),
            "limit": st.integers(1, 15),
            "cameras": st.one_of(
                st.none(), st.lists(st.sampled_from(CAMERAS), min_size=1, max_size=2)
            ),
        }
    )


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fleet(monkeypatch):
    # Make the planner choose HNSW for broad filters even on ~300 frames, so both plans
    # are exercised: exact up to ~40 matching frames (8+ scenes), HNSW above.
    monkeypatch.setattr(sp, "EXACT_MIN_FRAMES", 40)
    monkeypatch.setattr(sp, "EXACT_TRADEOFF", 0.01)
    return build_fleet()


def _request(fleet, case) -> tuple[SearchRequest, object]:
    source = fleet.frames[case["frame"] % len(fleet.frames)]
    body = {
        "like_frame": {"scene_id": source.scene_id, "camera": source.camera, "t_s": source.t_s},
        "filters": case["filters"],
        "limit": case["limit"],
        "cameras": case["cameras"],
    }
    try:
        return SearchRequest.from_json(body), source
    except InvalidInput:
        assume(False)  # e.g. max_speed_gte > max_speed_lte: rejected, not searched
        raise


@PROPERTY
@given(case=search_cases(filters))
def test_every_result_satisfies_every_filter(fleet, case):
    request, _ = _request(fleet, case)
    scenes = {s.scene_id: s for s in fleet.scenes}
    for result in run_search(request).results:
        assert scene_matches(scenes[result["scene_id"]], request.filters)
        assert request.cameras is None or result["frame"]["camera"] in request.cameras


@PROPERTY
@given(case=search_cases(narrow_filters))
def test_a_narrow_filter_returns_the_exact_top_k(fleet, case):
    request, source = _request(fleet, case)
    scenes = [s for s in fleet.scenes if scene_matches(s, request.filters)]
    assume(len(scenes) <= 6)  # narrow: few enough that the planner must scan exactly
    expected = reference_ranking(
        fleet,
        source.vector,
        filters=request.filters,
        cameras=request.cameras,
        exclude=source.scene_id,
    )[: request.limit]
    response = run_search(request)
    assert response.plan["vector"]["arm"] == "exact"
    got = [(r["scene_id"], r["score"]) for r in response.results]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-4)
    # Same scenes, allowing scenes whose scores tie to swap places.
    for (got_id, got_score), (want_id, want_score) in zip(got, expected, strict=True):
        assert got_id == want_id or abs(got_score - want_score) < 1e-4
