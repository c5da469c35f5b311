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


def test_bit_walk_returns_at_least_the_candidate_minimums(model, populated):
    """40 scenes x 10 frames: fewer than either minimum, so both walks return them all
    although the query asks for 10."""
    scope = _as_bit(model)
    plan = sp.choose_plan(scope, fetch=10, scenes=10, force="hnsw")
    _, walk = sv._walk(
        scope, sv.vector_literal(_query()), plan, frames=10, scenes=10, limit=10, per_scene=True
    )
    assert walk.frames == min(vector_index.BIT_CANDIDATES_MIN, 400)
    assert walk.scenes == min(vector_index.BIT_SCENES_MIN, 40)


def test_walk_sizes_shrink_with_a_filter_down_to_their_floors():
    bit = vector_index.walk_sizes
    assert bit("bit", frames=20, scenes=20, share=1.0) == (
        vector_index.BIT_CANDIDATES_MIN,
        vector_index.BIT_SCENES_MIN,
    )
    frames, scenes = bit("bit", frames=20, scenes=20, share=0.01)
    assert frames == max(20, round(vector_index.BIT_CANDIDATES_MIN * 0.25))
    assert scenes == round(vector_index.BIT_SCENES_MIN * vector_index.BIT_SCENE_SHARE_MIN)
    # What the caller needs always comes first; a halfvec walk returns just that.
    assert bit("bit", frames=5_000, scenes=900, share=1.0) == (5_000, 900)
    assert bit("halfvec", frames=20, scenes=20, share=1.0) == (20, 20)


def test_a_bit_walk_costs_its_real_size_when_the_plan_weighs_an_exact_scan():
    """At 10^7 frames a filter keeping 1% (10^5 frames) is scanned exactly: a bit walk
    returns ~170 rows for a top 10, each costing 100 index entries under that filter
    (bench/scale.py: 500-700 ms against 150 ms for the exact scan)."""
    rows = sp.walk_rows("bit", frames=20, scenes=20)
    assert rows == 20 + round(vector_index.BIT_SCENES_MIN * vector_index.BIT_SCENE_SHARE_MIN)
    assert sp.exact_cap_frames(rows, 10**7) > 10**5
    # A halfvec walk returns what it is asked: 1% of 10^7 frames is walked.
    assert sp.exact_cap_frames(sp.walk_rows("halfvec", frames=20, scenes=20), 10**7) < 10**5


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


@pytest.mark.django_db(transaction=True)
def test_command_rebuilds_the_scene_index_with_the_current_graph_options(capsys):
    from tests.embeddings.search_support import ensure_model

    model = ensure_model()
    name = vector_index.scene_index_name(model)
    with connection.cursor() as cursor:  # an index built before today's options
        cursor.execute(f"DROP INDEX {name}")
        cursor.execute(
            vector_index.scene_index_ddl(model).replace(
                vector_index.SCENE_HNSW_OPTIONS, vector_index.HNSW_OPTIONS
            )
        )
    assert "m='16'" in _index_definitions(model)[name]
    call_command("vector_index", "--model", model.name, "--scenes")
    definitions = _index_definitions(model)
    assert "m='32'" in definitions[name] and "ef_construction='128'" in definitions[name]
    assert not any(index.endswith("_new") for index in definitions)
    assert "scene index rebuilt" in capsys.readouterr().out


def test_command_refuses_a_kind_for_the_scene_index(model):
    with pytest.raises(CommandError, match="--kind"):
        call_command("vector_index", "--model", model.name, "--scenes", "--kind", "bit")
