"""Exact neighbour computations in memory: the pruned answers equal brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings import neighbours


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(seed: int, n: int, dim: int = 16, clusters: int = 6, spread: float = 0.25):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = unit(
        centres[rng.integers(clusters, size=n)] + rng.normal(scale=spread, size=(n, dim))
    )
    twins = rng.integers(n, size=max(1, n // 10))
    vectors[rng.integers(n, size=len(twins))] = vectors[twins]  # exact duplicates too
    return vectors


def brute(left, right, min_score):
    scores = left @ (left if right is None else right).T
    found = set(zip(*np.nonzero(scores >= min_score), strict=True))
    if right is None:
        found = {(int(i), int(j)) for i, j in found if i < j}
    return {(int(i), int(j)) for i, j in found}


def as_set(pairs: neighbours.Pairs) -> set[tuple[int, int]]:
    return set(zip(pairs.left.tolist(), pairs.right.tolist(), strict=True))


@pytest.fixture
def always_partition(monkeypatch):
    """Small inputs would take the brute-force path; force the pruned one."""
    monkeypatch.setattr(neighbours, "BRUTE_MAX_PAIRS", 0)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 400),
    min_score=st.sampled_from([0.9, 0.95, 0.98, 1.0]),
)
def test_pairs_within_one_set_equal_brute_force(seed, n, min_score):
    vectors = clustered(seed, n)
    old = neighbours.BRUTE_MAX_PAIRS
    neighbours.BRUTE_MAX_PAIRS = 0
    try:
        found = neighbours.close_pairs(vectors, None, min_score=min_score)
    finally:
        neighbours.BRUTE_MAX_PAIRS = old
    assert as_set(found) == brute(vectors, None, min_score)
    assert np.all(found.left < found.right)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), m=st.integers(1, 300))
def test_pairs_between_two_sets_equal_brute_force(seed, n, m):
    vectors = clustered(seed, n + m)
    left, right = vectors[:n], vectors[n:]
    old = neighbours.BRUTE_MAX_PAIRS
    neighbours.BRUTE_MAX_PAIRS = 0
    try:
        found = neighbours.close_pairs(left, right, min_score=0.95)
    finally:
        neighbours.BRUTE_MAX_PAIRS = old
    assert as_set(found) == brute(left, right, 0.95)
    assert np.allclose(found.score, np.sum(left[found.left] * right[found.right], axis=1))


def test_brute_force_path_gives_the_same_pairs(always_partition):
    vectors = clustered(3, 300)
    pruned = as_set(neighbours.close_pairs(vectors, None, min_score=0.97))
    neighbours.BRUTE_MAX_PAIRS = 10**9
    assert as_set(neighbours.close_pairs(vectors, None, min_score=0.97)) == pruned


def test_every_member_lies_within_its_cell_radius():
    vectors = clustered(4, 1000)
    cells = neighbours.partition(vectors)
    assert sorted(cells.order.tolist()) == list(range(1000))
    for c in range(cells.cells):
        members = vectors[cells.members(c)]
        distance = np.linalg.norm(members - cells.centres[c], axis=1)
        assert np.all(distance <= cells.radius[c] + 1e-5)


def reference_greedy(vectors, k, seed, min_distance):
    """The plain algorithm, one pass over every row per pick."""
    n = len(vectors)
    nearest = np.full(n, np.inf)
    picks = [int(np.random.default_rng(seed).integers(n))]
    while len(picks) < k:
        nearest = np.minimum(nearest, 1.0 - vectors @ vectors[picks[-1]])
        nearest[picks] = -1.0
        best = int(np.argmax(nearest))
        if nearest[best] <= min_distance:
            break
        picks.append(best)
    return picks


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 500),
    k=st.integers(1, 600),
    round_size=st.sampled_from([2, 16, 2048]),
    # Each path of a round: the candidates' distances as one product or cell by cell,
    # the picks applied to every row or to the cells they reach.
    dense_among=st.sampled_from([0, 1 << 30]),
    dense_apply=st.sampled_from([0.0, 2.0]),
)
def test_farthest_points_is_the_greedy_k_center(seed, n, k, round_size, dense_among, dense_apply):
    vectors = clustered(seed, n)
    old = neighbours.ROUND_CANDIDATES, neighbours.DENSE_AMONG, neighbours.DENSE_APPLY
    neighbours.ROUND_CANDIDATES = round_size
    neighbours.DENSE_AMONG, neighbours.DENSE_APPLY = dense_among, dense_apply
    try:
        picks = neighbours.farthest_points(vectors, k, seed=seed, min_distance=0.02)
    finally:
        neighbours.ROUND_CANDIDATES, neighbours.DENSE_AMONG, neighbours.DENSE_APPLY = old
    # Each pick is (up to float rounding) the row farthest from the picks before it.
    assert len(set(picks)) == len(picks) <= k
    nearest = np.full(n, np.inf)
    for i, pick in enumerate(picks):
        if i:
            others = np.setdiff1d(np.arange(n), picks[:i])
            assert nearest[pick] >= nearest[others].max() - 1e-5
        nearest = np.minimum(nearest, 1.0 - vectors @ vectors[pick])
    # Never two near-duplicates; and it stops only when the rest all are.
    scores = vectors[picks] @ vectors[picks].T
    assert np.all(scores[np.triu_indices(len(picks), 1)] < 0.98 + 1e-6)
    if len(picks) < min(k, n):
        rest = np.setdiff1d(np.arange(n), picks)
        assert nearest[rest].max() <= 0.02 + 1e-6
    assert len(picks) == len(reference_greedy(vectors, k, seed, 0.02))


def test_farthest_points_repeat_with_the_same_seed_and_differ_with_another():
    vectors = clustered(9, 2000, dim=32, clusters=40)
    first = neighbours.farthest_points(vectors, 100, seed=1, min_distance=0.02)
    assert neighbours.farthest_points(vectors, 100, seed=1, min_distance=0.02) == first
    assert neighbours.farthest_points(vectors, 100, seed=2, min_distance=0.02) != first


def test_farthest_points_of_one_footage_many_times_is_one_scene():
    vectors = unit(np.tile(np.random.default_rng(0).normal(size=(1, 8)), (50, 1)))
    assert len(neighbours.farthest_points(vectors, 10, seed=0, min_distance=0.02)) == 1
