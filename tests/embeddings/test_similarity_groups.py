"""Whole-scene similarity over groups of scenes: vectors read in bulk, near-duplicate
pairs, diverse samples and a scene's duplicates, against numpy on the same vectors."""

import numpy as np
import pytest

from catalog.errors import NotFound
from embeddings import similarity
from tests.curation.mining_support import look, mining_scene, near
from tests.embeddings.search_support import ensure_model

pytestmark = pytest.mark.django_db


def test_vector_matrix_reads_the_stored_scene_vectors_in_pk_order():
    model = ensure_model()
    scenes = [mining_scene(look(i)) for i in range(5)]
    without_vector = mining_scene()
    wanted = [s.pk for s in reversed(scenes)] + [without_vector.pk]
    matrix = similarity.scene_vector_matrix(scene_pks=wanted, model=model)
    assert matrix.pks.tolist() == sorted(s.pk for s in scenes)
    one_by_one = similarity.scene_vectors(scene_pks=matrix.pks.tolist(), model=model)
    for pk, row in zip(matrix.pks.tolist(), matrix.vectors, strict=True):
        assert np.allclose(row, one_by_one[pk], atol=1e-6)
        assert abs(np.linalg.norm(row) - 1) < 1e-5


def test_near_duplicate_pairs_are_the_twins_among_distractors():
    model = ensure_model()
    base = look(1)
    twin_a, twin_b = mining_scene(base), mining_scene(base)
    close = mining_scene(near(base, 0.995))
    looks_alike = [mining_scene(near(base, 0.9, seed=i)) for i in range(20)]
    others = [mining_scene(look(100 + i)) for i in range(30)]
    everyone = [twin_a, twin_b, close, *looks_alike, *others]
    matrix = similarity.scene_vector_matrix(scene_pks=[s.pk for s in everyone], model=model)
    pairs = similarity.near_duplicate_pairs(model=model, left=matrix, min_score=0.98)
    found = {(a, b) for a, b, _ in pairs.triples()}
    expected = {
        tuple(sorted(p))
        for p in [(twin_a.pk, twin_b.pk), (twin_a.pk, close.pk), (twin_b.pk, close.pk)]
    }
    assert found == expected
    by_pair = {(a, b): s for a, b, s in pairs.triples()}
    assert by_pair[tuple(sorted((twin_a.pk, twin_b.pk)))] > 0.999


def test_cross_pairs_include_a_scene_in_both_sides():
    model = ensure_model()
    shared, other = mining_scene(look(1)), mining_scene(look(2))
    left = similarity.scene_vector_matrix(scene_pks=[shared.pk], model=model)
    right = similarity.scene_vector_matrix(scene_pks=[shared.pk, other.pk], model=model)
    pairs = similarity.near_duplicate_pairs(model=model, left=left, right=right)
    assert [(a, b) for a, b, _ in pairs.triples()] == [(shared.pk, shared.pk)]


def test_diverse_sample_never_takes_both_twins_and_repeats():
    model = ensure_model()
    base = look(1)
    twins = [mining_scene(base) for _ in range(3)]
    others = [mining_scene(look(10 + i)) for i in range(6)]
    matrix = similarity.scene_vector_matrix(scene_pks=[s.pk for s in twins + others], model=model)
    picks = similarity.diverse_sample(matrix, 9, seed=4, min_score=0.98)
    assert len(picks) == 7 and len(set(picks) & {t.pk for t in twins}) == 1
    assert similarity.diverse_sample(matrix, 9, seed=4, min_score=0.98) == picks


def test_scene_duplicates_names_the_twins_most_similar_first():
    base = look(1)
    source = mining_scene(base)
    twin = mining_scene(base)
    close = mining_scene(near(base, 0.985))
    [mining_scene(look(10 + i)) for i in range(10)]
    found = similarity.scene_duplicates(scene_id=source.scene_id, min_score=0.98)
    assert [r["scene_id"] for r in found] == [twin.scene_id, close.scene_id]
    assert found[0]["score"] >= found[1]["score"] >= 0.98


def test_scene_duplicates_of_an_unknown_scene_is_not_found():
    ensure_model()
    with pytest.raises(NotFound):
        similarity.scene_duplicates(scene_id="ghost")
