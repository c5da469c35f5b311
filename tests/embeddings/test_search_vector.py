"""The vector query layer: plans (checked with EXPLAIN), settings scope, grouping."""

import numpy as np
import pytest
from django.db import connection, transaction

from embeddings.search import plan as sp
from embeddings.search import vector_sql as sv
from embeddings.search.plan import VectorScope
from embeddings.vector_index import frame_index_name, scene_index_name
from tests.embeddings.search_support import TINY_DIM, unit

pytestmark = pytest.mark.django_db


def _query(seed=5) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=TINY_DIM))


def _night(model) -> VectorScope:
    return VectorScope(model.id, model.dim, "(s.local_hour >= %s)", (20,))


def test_hnsw_arm_scans_the_partial_hnsw_index(model, populated):
    sql, params = sv.hnsw_frames_sql(_night(model), sv.vector_literal(_query()), 40)
    plan = sv.explain(sql, params, sp.hnsw_settings(40, 0.5))
    assert f"Index Scan using {frame_index_name(model)} " in plan


def test_hnsw_arm_resorts_the_relaxed_order_rows(model, populated):
    sql, params = sv.hnsw_frames_sql(_night(model), sv.vector_literal(_query()), 40)
    plan = sv.explain(sql, params, sp.hnsw_settings(40, 0.5))
    assert plan.splitlines()[0].startswith("Sort")  # above the CTE scan


def test_hnsw_arm_orders_the_index_scan_by_distance_alone(model):
    sql, _ = sv.hnsw_frames_sql(_night(model), "[0]", 40)
    inner = sql.split("MATERIALIZED (", 1)[1]
    assert "ORDER BY distance LIMIT" in inner  # no tie-breaker after the distance


def test_walks_scan_each_index_once_and_rescore_without_them(model, populated):
    sql, params = sv.hnsw_rerank_sql(
        _night(model), sv.vector_literal(_query()), frames=40, scenes=15, limit=10, per_scene=True
    )
    plan = sv.explain(sql, params, sp.hnsw_settings(40, 0.5))
    assert plan.count(f"Index Scan using {frame_index_name(model)} ") == 1
    assert plan.count(f"Index Scan using {scene_index_name(model)} ") == 1


def test_exact_arm_never_uses_the_hnsw_index(model, populated):
    pks = [s.pk for s in populated[:3]]
    sql, params = sv.exact_scenes_sql(_night(model), sv.vector_literal(_query()), 5, scene_pks=pks)
    plan = sv.explain(sql, params, {"enable_seqscan": "off"})
    assert "hnsw" not in plan


def test_planner_settings_do_not_outlive_the_query(model, populated):
    with transaction.atomic():
        sv.nearest_scenes(_night(model), _query(), 5, force="hnsw")
        with connection.cursor() as cur:
            cur.execute(
                "SELECT current_setting('hnsw.ef_search', true), current_setting('enable_sort')"
            )
            ef_search, enable_sort = cur.fetchone()
    assert ef_search in (None, "40")
    assert enable_sort == "on"


def test_hnsw_and_exact_agree_on_small_data(model, populated):
    scope = _night(model)
    exact, _ = sv.nearest_scenes(scope, _query(), 8, force="exact")
    approx, _ = sv.nearest_scenes(scope, _query(), 8, force="hnsw")
    assert [h.scene_pk for h in approx] == [h.scene_pk for h in exact]


def test_nearest_frames_exact_returns_the_true_top_k(model, populated):
    scope = VectorScope(model.id, model.dim)
    hits, plan = sv.nearest_frames(scope, _query(), 10)
    assert plan.arm == "exact"
    distances = [h.distance for h in hits]
    assert distances == sorted(distances) and len(hits) == 10


def test_results_are_in_the_filter_and_cameras(model, populated):
    scope = VectorScope(model.id, model.dim, "(s.local_hour >= %s)", (20,), ("rear",))
    for force in ("exact", "hnsw"):
        hits, _ = sv.nearest_scenes(scope, _query(), 10, force=force)
        night = {s.pk for s in populated if s.local_hour == 22}
        assert hits and all(h.scene_pk in night and h.camera == "rear" for h in hits)


def test_scene_walk_supplies_enough_scenes_when_frames_bunch(model, populated, monkeypatch):
    monkeypatch.setattr(sv, "FRAMES_PER_SCENE", 0.5)  # 15 frames: a few scenes' worth
    hits, _ = sv.nearest_scenes(VectorScope(model.id, model.dim), _query(), 30, force="hnsw")
    assert len({h.scene_pk for h in hits}) == 30


def test_min_score_cuts_results(model, populated):
    scope = VectorScope(model.id, model.dim)
    everything, _ = sv.nearest_scenes(scope, _query(), 40)
    cut = everything[5].score
    for force in ("exact", "hnsw"):
        hits, _ = sv.nearest_scenes(scope, _query(), 40, min_score=cut, force=force)
        assert hits and min(h.score for h in hits) >= cut - 1e-6


def test_empty_filter_answers_without_a_vector_query(model, populated):
    scope = VectorScope(model.id, model.dim, "s.local_hour = %s", (3,))
    hits, plan = sv.nearest_scenes(scope, _query(), 10)
    assert (hits, plan.arm, plan.scene_pks) == ([], "exact", [])


def test_excluded_scene_never_appears(model, populated):
    source = populated[0]
    scope = VectorScope(model.id, model.dim, exclude_scene_pk=source.pk)
    for force in ("exact", "hnsw"):
        hits, _ = sv.nearest_scenes(scope, _query(), 40, force=force)
        assert source.pk not in {h.scene_pk for h in hits}


def test_walks_with_moment_conditions_still_scan_each_index_once(model, populated):
    from embeddings.search.moments import MomentConditions

    scope = _night(model).with_moments(MomentConditions(speed_mps_gte=5.0))
    sql, params = sv.hnsw_rerank_sql(
        scope, sv.vector_literal(_query()), frames=40, scenes=15, limit=10, per_scene=True
    )
    plan = sv.explain(sql, params, sp.hnsw_settings(40, 0.05))
    assert plan.count(f"Index Scan using {frame_index_name(model)} ") == 1
    assert plan.count(f"Index Scan using {scene_index_name(model)} ") == 1
    assert "mf.speed_mps >=" in sql
