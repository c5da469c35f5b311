"""Frame index kinds: a `bit` (binary-quantized) index finds candidates by Hamming
distance, the exact re-score keeps results and scores identical to the exact arm."""

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from embeddings import vector_index
from embeddings.models import EmbeddingModel
from embeddings.search import plan as sp
from embeddings.search import vector_sql as sv
from embeddings.search.plan import VectorScope
from tests.embeddings.search_support import TINY_DIM, unit

pytestmark = pytest.mark.django_db


def _query(seed=5) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=TINY_DIM))


def _index_definitions(model) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s",
            [f"%_m{model.pk}%"],
        )
        return dict(cursor.fetchall())


def _as_bit(model) -> VectorScope:
    """Swap the model's frame index for a bit one (plain build: inside the test's
    transaction, where CONCURRENTLY cannot run)."""
    name = vector_index.frame_index_name(model)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before DDL
        cursor.execute(f"DROP INDEX {name}")
        cursor.execute(vector_index.frame_index_ddl(model, "bit", name=name, concurrently=False))
        cursor.execute("ANALYZE embeddings_frameembedding")
    return VectorScope(model.id, model.dim, frame_index="bit")


def test_bit_walk_orders_the_binary_index_by_hamming_distance(model, populated):
    scope = _as_bit(model)
    assert "bit_hamming_ops" in _index_definitions(model)[vector_index.frame_index_name(model)]
    sql, params = sv.hnsw_frames_sql(scope, sv.vector_literal(_query()), 40, resort=False)
    assert "<~> binary_quantize(" in sql
    plan = sv.explain(sql, params, sp.hnsw_settings(400, 1.0))
    assert f"Index Scan using {vector_index.frame_index_name(model)} " in plan


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_bit_index_results_and_scores_equal_the_exact_arm(model, populated, seed):
    scope = _as_bit(model)
    exact, _ = sv.nearest_scenes(scope, _query(seed), 10, force="exact")
    walked, plan = sv.nearest_scenes(scope, _query(seed), 10, force="hnsw")
    assert plan.arm == "hnsw"
    assert [h.scene_pk for h in walked] == [h.scene_pk for h in exact]
    # Scores are cosine similarities from the re-score, not Hamming distances.
    assert [round(h.score, 5) for h in walked] == [round(h.score, 5) for h in exact]


def test_bit_walk_asks_for_at_least_the_candidate_minimum(model, populated):
    scope = _as_bit(model)
    plan = sp.choose_plan(scope, fetch=10, force="hnsw")
    sv._walk(
        scope, sv.vector_literal(_query()), plan, frames=10, scenes=10, limit=10, per_scene=True
    )
    assert int(plan.settings["hnsw.ef_search"]) >= vector_index.BIT_CANDIDATES_MIN


def test_unknown_kind_is_refused(model):
    with pytest.raises(ValueError, match="unknown frame index kind"):
        vector_index.frame_index_ddl(model, "pq", name="x", concurrently=False)


@pytest.mark.django_db(transaction=True)
def test_command_rebuilds_the_frame_index_online_and_switches_the_model(capsys):
    from tests.embeddings.search_support import ensure_model

    model = ensure_model()
    call_command("vector_index", "--model", model.name, "--kind", "bit")
    model.refresh_from_db()
    assert model.frame_index == "bit"
    definitions = _index_definitions(model)
    assert "bit_hamming_ops" in definitions[vector_index.frame_index_name(model)]
    assert not any(name.endswith("_new") for name in definitions)
    call_command("vector_index")
    assert f"{model.name}\tbit" in capsys.readouterr().out
    call_command("vector_index", "--model", model.name, "--kind", "halfvec")
    assert EmbeddingModel.objects.get(pk=model.pk).frame_index == "halfvec"


def test_command_names_a_missing_model(model):
    with pytest.raises(CommandError, match="--model"):
        call_command("vector_index", "--model", "nope/none", "--kind", "bit")
