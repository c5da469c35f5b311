"""Exact neighbour computations over scene vectors held in memory (unit float32 rows):
the pairs of two sets (or of one set) whose cosine is at least a threshold, and
farthest-point sampling. Pure numpy; `embeddings.similarity` fetches the vectors and
names the scenes, so the score stays the one whole-scene similarity.

All pairs of 10^5 scenes would be 5 x 10^9 dot products. Instead a coarse partition of
the vectors (`Partition`: cells around centres, each with its radius) prunes by the
triangle inequality: two cells whose centres are further apart than both radii plus the
search radius cannot hold a pair, and a point far enough from a cell cannot be nearer
to any of its members than it already is to its nearest pick. Pruning only skips work
whose answer is known, so results are exact (a margin covers float32 rounding). How
much it skips depends on the data: clustered vectors (real footage: roads, weather,
times of day) skip most cells; vectors spread evenly over the sphere skip few, and the
cost degrades towards all pairs, computed in blocks.

BLAS runs single-threaded here: most products are small blocks, where OpenBLAS's thread
hand-offs cost more than the arithmetic (measured: 316 cell-sized products 16x faster
on one thread), and a request should not take every core of a shared server. The few
large products (the candidates of a sampling round against each other, rows against
the partition's centres: ~10^9 multiply-adds each) use up to LARGE_PRODUCT_THREADS
(a 10^4 sample of 10^5 scenes: 2.5 s -> 1.7 s on two cores).
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

# Distances between unit vectors are computed from dot products in float32; near zero
# their error is about sqrt(1e-6). Every pruning test gives away this much.
MARGIN = 2e-3
# Below this many pairs a plain blocked product is cheaper than building a partition.
BRUTE_MAX_PAIRS = 4_000_000
BLOCK_ROWS = 4096
MAX_CELLS = 2048
LARGE_PRODUCT_THREADS = 2
LLOYD_ROUNDS = 3
SAMPLE_PER_CELL = 16


def _large_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with threadpool_limits(limits=LARGE_PRODUCT_THREADS, user_api="blas"):
        return a @ b


def _one_blas_thread(function):
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapped


def cosine_to_euclid(min_score: float) -> float:
    """Distance between unit vectors whose cosine is `min_score`."""
    return math.sqrt(max(0.0, 2.0 - 2.0 * min_score))


@dataclass(frozen=True)
class Partition:
    """Rows of `vectors` grouped in cells: `order` lists row indexes cell by cell,
    cell c owning `order[start[c]:start[c + 1]]`; every member of cell c lies within
    `radius[c]` of `centres[c]`."""

    centres: np.ndarray
    radius: np.ndarray
    order: np.ndarray
    start: np.ndarray

    @property
    def cells(self) -> int:
        return len(self.centres)

    def members(self, cell: int) -> np.ndarray:
        return self.order[self.start[cell] : self.start[cell + 1]]


@_one_blas_thread
def partition(vectors: np.ndarray, *, cells: int | None = None, seed: int = 0) -> Partition:
    """Cells around ~sqrt(n) centres (a few Lloyd rounds on a sample, then every row to
    its nearest centre). Any assignment keeps the pruning exact; a tight one makes it
    effective."""
    n = len(vectors)
    m = max(1, min(cells or round(math.sqrt(n)), MAX_CELLS, n))
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, min(n, SAMPLE_PER_CELL * m), replace=False))]
    centres = _spread_centres(sample, m, rng)
    for _ in range(LLOYD_ROUNDS):
        nearest = _nearest_centre(sample, centres)[0]
        sums = np.zeros_like(centres)
        np.add.at(sums, nearest, sample)
        counts = np.bincount(nearest, minlength=m)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    assign, distance = _nearest_centre(vectors, centres)
    order = np.argsort(assign, kind="stable")
    counts = np.bincount(assign, minlength=m)
    start = np.concatenate([[0], np.cumsum(counts)])
    radius = np.zeros(m, dtype=np.float32)
    np.maximum.at(radius, assign, distance)
    return Partition(centres, radius, order, start)


def _spread_centres(sample: np.ndarray, m: int, rng) -> np.ndarray:
    """m rows of the sample chosen farthest-first (each the row furthest from those
    already chosen): no region of the data is left without a centre nearby, which keeps
    the largest cell radius - what pruning depends on - small."""
    chosen = [int(rng.integers(len(sample)))]
    squared = np.full(len(sample), np.inf, dtype=np.float32)
    norms = np.einsum("ij,ij->i", sample, sample)
    for _ in range(m - 1):
        last = sample[chosen[-1]]
        squared = np.minimum(squared, norms + last @ last - 2.0 * (sample @ last))
        chosen.append(int(np.argmax(squared)))
    return sample[chosen].copy()


def _nearest_centre(vectors: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centre, euclidean distance to it) of every row."""
    half_norms = 0.5 * np.einsum("ij,ij->i", centres, centres)
    assign = np.empty(len(vectors), dtype=np.int64)
    distance = np.empty(len(vectors), dtype=np.float32)
    for lo in range(0, len(vectors), BLOCK_ROWS):
        block = vectors[lo : lo + BLOCK_ROWS]
        closeness = _large_product(block, centres.T) - half_norms  # larger = nearer
        best = np.argmax(closeness, axis=1)
        assign[lo : lo + len(block)] = best
        squared = np.einsum("ij,ij->i", block, block) - 2.0 * closeness[np.arange(len(block)), best]
        distance[lo : lo + len(block)] = np.sqrt(np.maximum(squared, 0.0))
    return assign, distance


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (
        np.einsum("ij,ij->i", a, a)[:, None]
        + np.einsum("ij,ij->i", b, b)[None, :]
        - 2.0 * (a @ b.T)
    )
    return np.sqrt(np.maximum(squared, 0.0))


# --- pairs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """Row indexes (into left, into right) and cosines of the pairs found."""

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.left)


def _empty_pairs() -> Pairs:
    return Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))


@_one_blas_thread
def close_pairs(left: np.ndarray, right: np.ndarray | None, *, min_score: float) -> Pairs:
    """Every (i, j) with cosine(left[i], right[j]) >= min_score. With `right` None, the
    pairs within `left`, each once, i < j."""
    inner = right is None
    right = left if inner else right
    if len(left) == 0 or len(right) == 0:
        return _empty_pairs()
    if len(left) * len(right) <= BRUTE_MAX_PAIRS:
        return _brute_pairs(left, right, min_score=min_score, inner=inner)
    cells = partition(right)
    radius = cosine_to_euclid(min_score) + MARGIN
    return _cross_pairs(left, right, cells, min_score, radius, inner=inner)


def _brute_pairs(left, right, *, min_score: float, inner: bool) -> Pairs:
    found = []
    for lo in range(0, len(left), BLOCK_ROWS):
        scores = left[lo : lo + BLOCK_ROWS] @ right.T
        i, j = np.nonzero(scores >= min_score)
        if inner:
            keep = i + lo < j
            i, j = i[keep], j[keep]
        found.append((i + lo, j, scores[i, j]))
    return _concat(found)


def _cross_pairs(left, right, cells: Partition, min_score, radius, *, inner: bool) -> Pairs:
    """Each block of left rows against the cells each row can reach: row x may have a
    partner in cell c only if d(x, centre c) <= radius c + radius. Within one set (inner)
    every pair is met from both sides; it is kept once, i < j."""
    found = []
    for lo in range(0, len(left), BLOCK_ROWS):
        block = left[lo : lo + BLOCK_ROWS]
        near = _distances(block, cells.centres) <= cells.radius[None, :] + radius
        for c in np.flatnonzero(near.any(axis=0)):
            rows = np.flatnonzero(near[:, c])
            cols = cells.members(c)
            scores = block[rows] @ right[cols].T
            i, j = np.nonzero(scores >= min_score)
            gi, gj = rows[i] + lo, cols[j]
            if inner:
                keep = gi < gj
                found.append((gi[keep], gj[keep], scores[i, j][keep]))
            else:
                found.append((gi, gj, scores[i, j]))
    return _concat(found)


def _concat(found: list[tuple]) -> Pairs:
    if not found:
        return _empty_pairs()
    i, j, s = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return Pairs(i.astype(np.int64), j.astype(np.int64), s.astype(np.float32))


# --- farthest-point sampling -----------------------------------------------------------------

ROUND_CANDIDATES = 2048


@_one_blas_thread
def farthest_points(vectors: np.ndarray, k: int, *, seed: int, min_distance: float) -> list[int]:
    """Greedy farthest-point (k-center) sampling: starting from a seeded random row,
    repeatedly take the row whose cosine distance (1 - cosine) to its nearest pick is
    largest, ties to the lower row. Stops early when that distance is at most
    `min_distance`: every remaining row is then that close to a pick, so no two picks
    are ever that close.

    The picks are the plain algorithm's, computed in rounds: each round takes picks from
    the `ROUND_CANDIDATES` farthest rows for as long as the best of them, updated for
    the round's picks, is still farther than any other row can be; then it applies the
    round's picks to the cells they can bring closer, as matrix products (each row is
    read once per round, not once per pick)."""
    n = len(vectors)
    if n == 0 or k <= 0:
        return []
    state = _Sampling(vectors, partition(vectors, seed=seed))
    first = int(np.random.default_rng(seed).integers(n))
    picks = [int(state.position[first])]
    state.apply(picks)
    while len(picks) < k:
        best = state.farthest()
        if state.nearest[best] <= min_distance:
            break
        picks.extend(state.round(best, k - len(picks), min_distance))
    return [int(state.order[p]) for p in picks]


class _Sampling:
    """Each row's distance to its nearest pick, exact between rounds. Rows are held
    cell by cell (`position` = a row's place in that order), so a cell is one slice."""

    def __init__(self, vectors: np.ndarray, cells: Partition) -> None:
        self.cells = cells
        self.order = cells.order
        self.position = np.empty(len(vectors), dtype=np.int64)
        self.position[cells.order] = np.arange(len(vectors))
        self.rows = vectors[cells.order]
        self.nearest = np.full(len(vectors), np.inf, dtype=np.float32)
        self.cell_far = np.where(np.diff(cells.start) > 0, np.inf, -np.inf).astype(np.float32)

    def farthest(self) -> int:
        top = np.flatnonzero(self.nearest == self.nearest.max())
        return int(top[np.argmin(self.order[top])])

    def round(self, first: int, wanted: int, min_distance: float) -> list[int]:
        nearest = self.nearest
        size = min(len(nearest), ROUND_CANDIDATES)
        candidates = np.argpartition(-nearest, size - 1)[:size]
        if not np.any(candidates == first):  # a tie at the top the partition left out
            candidates[np.argmin(nearest[candidates])] = first
        candidates = candidates[np.argsort(self.order[candidates])]  # ties to the lower row
        outside = np.ones(len(nearest), dtype=bool)
        outside[candidates] = False
        # Rows outside the candidates are at most this far from the picks.
        ceiling = float(nearest[outside].max()) if outside.any() else -np.inf
        block = self.rows[candidates]
        # Cosine distances among the candidates, once: a pick then costs one row of it.
        among = 1.0 - _large_product(block, block.T)
        current = nearest[candidates].copy()
        picks: list[int] = []
        at = int(np.flatnonzero(candidates == first)[0])
        while True:
            picks.append(int(candidates[at]))
            np.minimum(current, among[at], out=current)
            current[at] = -1.0
            if len(picks) >= min(wanted, size // 2):
                break
            at = int(np.argmax(current))
            if current[at] <= ceiling or current[at] <= min_distance:
                break
        self.apply(picks)
        return picks

    def apply(self, picks: list[int]) -> None:
        """Lower every row's distance for `picks`, in the cells they can bring closer."""
        cells, nearest, start = self.cells, self.nearest, self.cells.start
        points = self.rows[picks]
        gap = _distances(cells.centres, points) - cells.radius[:, None] - MARGIN
        # Lower bound of the cosine distance from each pick to any member of each cell.
        bound = np.square(np.maximum(gap, 0.0)) / 2.0
        nearest[picks] = -1.0  # taken: never the farthest again, whatever the rounding
        reach = bound < self.cell_far[:, None]
        touched = reach.any(axis=1)
        touched[np.searchsorted(start, picks, "right") - 1] = True
        for c in np.nonzero(touched)[0]:
            lo, hi = start[c], start[c + 1]
            if reach[c].any():
                closest = 1.0 - (self.rows[lo:hi] @ points[reach[c]].T).max(axis=1)
                np.minimum(nearest[lo:hi], closest, out=nearest[lo:hi])
            self.cell_far[c] = nearest[lo:hi].max()
