"""Properties of moment conditions over random combinations on a small fleet whose frames
carry random states: every returned moment satisfies every condition, and a search with
conditions ranks exactly the qualifying moments (the brute-force best per scene)."""

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalog.errors import InvalidInput
from embeddings.models import Frame
from embeddings.search import SearchRequest, run_search
from embeddings.search import plan as sp
from tests.embeddings.search_support import build_fleet, unit

pytestmark = pytest.mark.django_db

CONDITIONS = {
    "speed_mps_gte": st.integers(0, 30),
    "speed_mps_lte": st.integers(0, 30),
    "accel_mps2_gte": st.integers(-6, 3),
    "accel_mps2_lte": st.integers(-6, 3),
    "brake_gte": st.sampled_from([0.1, 0.5, 0.9]),
    "steering_abs_deg_gte": st.integers(0, 90),
    "disengagement_within_s": st.sampled_from([0.5, 2, 5]),
}
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STATE_FIELDS = ("speed_mps", "accel_mps2", "brake", "steering_angle_deg", "disengagement_dt_s")


@pytest.fixture
def fleet(monkeypatch):
    # Both plans get exercised on a small fleet (as in test_search_properties).
    monkeypatch.setattr(sp, "EXACT_MIN_FRAMES", 40)
    monkeypatch.setattr(sp, "EXACT_TRADEOFF", 0.01)
    fleet = build_fleet()
    pick = random.Random(3)
    states = {}
    for frame in Frame.objects.filter(scene__in=fleet.scenes):
        state = {
            "speed_mps": round(pick.uniform(0, 30), 2),
            "accel_mps2": round(pick.uniform(-6, 3), 2),
            "brake": pick.choice([0.0, 0.0, 0.3, 0.6, 0.95]),
            "steering_angle_deg": round(pick.uniform(-90, 90), 1),
            "disengagement_dt_s": pick.choice([None, 0.2, 1.5, 4.0, 9.0]),
        }
        Frame.objects.filter(pk=frame.pk).update(**state)
        states[(frame.scene.scene_id, frame.camera, frame.t_s)] = state
    fleet.states = states
    return fleet


def satisfies(state: dict, conditions: dict) -> bool:
    """What each condition means (as the API documents it), written apart from the SQL."""
    checks = {
        "speed_mps_gte": lambda v: state["speed_mps"] >= v,
        "speed_mps_lte": lambda v: state["speed_mps"] <= v,
        "accel_mps2_gte": lambda v: state["accel_mps2"] >= v,
        "accel_mps2_lte": lambda v: state["accel_mps2"] <= v,
        "brake_gte": lambda v: state["brake"] >= v,
        "steering_abs_deg_gte": lambda v: abs(state["steering_angle_deg"]) >= v,
        "disengagement_within_s": lambda v: (
            state["disengagement_dt_s"] is not None and state["disengagement_dt_s"] <= v
        ),
    }
    return all(checks[name](value) for name, value in conditions.items())


def request_of(body) -> SearchRequest:
    try:
        return SearchRequest.from_json(body)
    except InvalidInput:
        assume(False)  # e.g. speed_mps_gte > speed_mps_lte: rejected, not searched
        raise


@PROPERTY
@given(
    conditions=st.fixed_dictionaries({}, optional=CONDITIONS).filter(bool),
    frame=st.integers(0, 10_000),
    limit=st.integers(1, 15),
    force=st.sampled_from([None, "exact", "hnsw"]),
)
def test_every_moment_satisfies_every_condition_and_is_the_best(
    fleet, conditions, frame, limit, force
):
    source = fleet.frames[frame % len(fleet.frames)]
    like = {"scene_id": source.scene_id, "camera": source.camera, "t_s": source.t_s}
    request = request_of({"like_frame": like, "at_moment": conditions, "limit": limit})
    results = run_search(request, force_plan=force).results
    q = unit(source.vector).astype(np.float64)
    best: dict[str, float] = {}
    for fr in fleet.frames:
        if fr.scene_id != source.scene_id and satisfies(
            fleet.states[(fr.scene_id, fr.camera, fr.t_s)], conditions
        ):
            score = float(q @ fr.vector / np.linalg.norm(fr.vector))
            best[fr.scene_id] = max(best.get(fr.scene_id, -2.0), score)
    expected = sorted(best.values(), reverse=True)[:limit]
    for result in results:
        key = (result["scene_id"], result["frame"]["camera"], result["frame"]["t_s"])
        assert satisfies(fleet.states[key], conditions)
        signals = result["frame"]["signals"]
        assert signals["speed_mps"] == fleet.states[key]["speed_mps"]
    assert [r["score"] for r in results] == pytest.approx(expected, abs=1e-3)


@PROPERTY
@given(conditions=st.fixed_dictionaries({}, optional=CONDITIONS).filter(bool))
def test_conditions_alone_give_every_qualifying_scene_newest_first(fleet, conditions):
    request = request_of({"at_moment": conditions, "limit": 500})
    results = run_search(request).results
    qualifying: dict[str, list[float]] = {}
    for (scene_id, _, t_s), state in fleet.states.items():
        if satisfies(state, conditions):
            qualifying.setdefault(scene_id, []).append(t_s)
    assert {r["scene_id"] for r in results} == set(qualifying)
    for r in results:
        assert r["frame"]["t_s"] == min(qualifying[r["scene_id"]])
    starts = {s.scene_id: s.start_time for s in fleet.scenes}
    assert [starts[r["scene_id"]] for r in results] == sorted(
        (starts[r["scene_id"]] for r in results), reverse=True
    )
