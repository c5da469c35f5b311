"""Patterns: results grouped by what they look like, each in exactly one group."""

import numpy as np
import pytest

from catalog.errors import InvalidInput
from embeddings.search import SearchRequest, run_search
from tests.embeddings.search_support import TINY_DIM, add_vectors, ensure_model, unit
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_kinds():
    """30 scenes: 10 near each of three well-separated looks."""
    model = ensure_model()
    rng = np.random.default_rng(3)
    looks = unit(rng.normal(size=(3, TINY_DIM)) * 10)
    kinds = {}
    for i in range(30):
        scene = SceneFactory(tags=["walker"])
        vectors = unit(looks[i % 3] + rng.normal(scale=0.05, size=(4, TINY_DIM)))
        add_vectors(scene, model, vectors)
        kinds[scene.scene_id] = i % 3
    return looks, kinds


def test_patterns_recover_the_three_looks(three_kinds):
    _, kinds = three_kinds
    body = {"filters": {"tag": ["walker"]}, "patterns": 3, "limit": 50}
    response = run_search(SearchRequest.from_json(body))
    assert len(response.results) == 30
    groups = [set(p["scene_ids"]) for p in response.patterns]
    assert sorted(len(g) for g in groups) == [10, 10, 10]
    for group in groups:
        assert len({kinds[s] for s in group}) == 1
    every = [s for p in response.patterns for s in p["scene_ids"]]
    assert sorted(every) == sorted(r["scene_id"] for r in response.results)
    for p in response.patterns:
        assert p["representative"]["scene_id"] in p["scene_ids"]
        assert all(
            r["pattern"] == p["id"] for r in response.results if r["scene_id"] in p["scene_ids"]
        )


def test_more_patterns_than_results_gives_one_per_result(three_kinds):
    body = {"filters": {"tag": ["walker"]}, "patterns": 12, "limit": 5}
    response = run_search(SearchRequest.from_json(body))
    assert len(response.patterns) == 5
    assert all(p["size"] == 1 for p in response.patterns)


def test_unembedded_results_form_their_own_group(three_kinds):
    SceneFactory(tags=["walker"])  # newest, no frames at all
    body = {"filters": {"tag": ["walker"]}, "patterns": 3, "limit": 50}
    response = run_search(SearchRequest.from_json(body))
    last = response.patterns[-1]
    assert last["size"] == 1 and last["representative"] is None


def test_same_results_same_patterns(three_kinds):
    body = {"filters": {"tag": ["walker"]}, "patterns": 4, "limit": 50}
    first = run_search(SearchRequest.from_json(body)).patterns
    assert run_search(SearchRequest.from_json(body)).patterns == first


@pytest.mark.parametrize("value", [1, 13, 2.5, "3", True])
def test_patterns_outside_2_to_12_name_the_field(value):
    with pytest.raises(InvalidInput) as caught:
        SearchRequest.from_json({"filters": {"tag": ["x"]}, "patterns": value})
    assert "patterns" in caught.value.errors


def test_no_patterns_key_unless_asked(three_kinds):
    response = run_search(SearchRequest.from_json({"filters": {"tag": ["walker"]}}))
    assert "patterns" not in response.as_dict()
    assert "pattern" not in response.results[0]
