"""Choosing exact or HNSW per query from the filter's size."""

import pytest

from embeddings.search import plan as sp
from embeddings.search.plan import VectorScope

pytestmark = pytest.mark.django_db


def _night(model) -> VectorScope:
    return VectorScope(model.id, model.dim, "(s.local_hour >= %s)", (20,))


def test_narrow_filter_plans_an_exact_scan_over_its_scenes(model, populated):
    scope = VectorScope(model.id, model.dim, "s.id = %s", (populated[0].pk,))
    plan = sp.choose_plan(scope, fetch=10)
    assert (plan.arm, plan.scene_pks) == ("exact", [populated[0].pk])


def test_broad_filter_plans_hnsw_with_iterative_scans(model, populated, monkeypatch):
    monkeypatch.setattr(sp, "EXACT_MIN_FRAMES", 10)
    monkeypatch.setattr(sp, "EXACT_TRADEOFF", 0.01)
    plan = sp.choose_plan(_night(model), fetch=10)
    assert plan.arm == "hnsw"
    assert plan.settings["hnsw.iterative_scan"] == "relaxed_order"
    assert int(plan.settings["hnsw.ef_search"]) >= sp.EF_SEARCH_MIN


def test_scan_budget_grows_as_the_filter_narrows():
    broad = sp.hnsw_settings(200, 0.5)["hnsw.max_scan_tuples"]
    narrow = sp.hnsw_settings(200, 0.005)["hnsw.max_scan_tuples"]
    assert int(narrow) > int(broad)


def test_small_unfiltered_collection_is_scanned_exactly(model, populated):
    plan = sp.choose_plan(VectorScope(model.id, model.dim), fetch=10)
    assert plan.arm == "exact" and plan.scene_pks is None


def test_forcing_a_plan_overrides_the_choice(model, populated):
    plan = sp.choose_plan(VectorScope(model.id, model.dim), fetch=10, force="hnsw")
    assert plan.arm == "hnsw" and plan.settings["hnsw.iterative_scan"] == "relaxed_order"


def test_statistics_count_frames_scenes_and_camera_shares(model, populated):
    stats = sp.model_stats(model.id, refresh=True)
    assert (stats.frames, stats.vector_scenes) == (400, 40)
    assert stats.share_of(["rear"]) == pytest.approx(0.5)
    assert stats.frames_per_scene == 10
