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
large products (rows against the partition's centres, a sampling round's first picks
against every row, a small round's candidates against each other) use up to
LARGE_PRODUCT_THREADS.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

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
SPREAD_PER_CELL = 4  # rows per centre to spread the first centres over


@functools.cache
def _blas() -> ThreadpoolController:
    # Finding the loaded BLAS libraries reads the process's maps: once, not per product.
    return ThreadpoolController()


def _large_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with _blas().limit(limits=LARGE_PRODUCT_THREADS, user_api="blas"):
        return a @ b


def _one_blas_thread(function):
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with _blas().limit(limits=1, user_api="blas"):
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
    # Every few rows of the sample (rows in pk order: a prefix would be the oldest ones).
    centres = _spread_centres(sample[:: max(1, SAMPLE_PER_CELL // SPREAD_PER_CELL)], m, rng)
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

# Candidates per round: a round starts small, while picks still change most distances
# (the first picks are far from everything, and few fit in a round), and grows with
# the picks the last round took, up to ROUND_CANDIDATES.
ROUND_CANDIDATES = 16384
FIRST_ROUND = 256
ROUND_GROWTH = 8
# Up to this many candidates their distances are one product; above, cell by cell.
DENSE_AMONG = 1024
# Above this share of (cell, pick) pairs within reach, a round's picks meet every row.
DENSE_APPLY = 0.5


@_one_blas_thread
def farthest_points(vectors: np.ndarray, k: int, *, seed: int, min_distance: float) -> list[int]:
    """Greedy farthest-point (k-center) sampling: starting from a seeded random row,
    repeatedly take the row whose cosine distance (1 - cosine) to its nearest pick is
    largest, ties to the lower row. Stops early when that distance is at most
    `min_distance`: every remaining row is then that close to a pick, so no two picks
    are ever that close.

    The picks are the plain algorithm's, computed in rounds: each round takes picks from
    the farthest rows (FIRST_ROUND of them, then growing with the picks the last round
    took, up to ROUND_CANDIDATES) for as long as the best of them, updated for the
    round's picks, is still farther than any other row can be; then it applies the
    round's picks to the cells they can bring closer, as matrix products (each row is
    read once per round, not once per pick). Within a round only the candidate pairs
    that can lower a distance are computed (cells close enough, by the same bounds), so
    a round can be large: few rounds, few passes over the rows."""
    n = len(vectors)
    if n == 0 or k <= 0:
        return []
    state = _Sampling(vectors, partition(vectors, seed=seed))
    first = int(np.random.default_rng(seed).integers(n))
    picks = [int(state.position[first])]
    state.apply(picks)
    size = min(FIRST_ROUND, ROUND_CANDIDATES)
    while len(picks) < k:
        best = state.farthest()
        if state.nearest[best] <= min_distance:
            break
        taken = state.round(best, k - len(picks), min_distance, size)
        picks.extend(taken)
        size = min(max(FIRST_ROUND, ROUND_GROWTH * len(taken)), ROUND_CANDIDATES)
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
        self.filled = np.diff(cells.start) > 0
        self.cell_far = np.where(self.filled, np.inf, -np.inf).astype(np.float32)

    def farthest(self) -> int:
        top = np.flatnonzero(self.nearest == self.nearest.max())
        return int(top[np.argmin(self.order[top])])

    def round(self, first: int, wanted: int, min_distance: float, size: int) -> list[int]:
        nearest = self.nearest
        size = min(len(nearest), size)
        candidates = np.argpartition(-nearest, size - 1)[:size]
        if not np.any(candidates == first):  # a tie at the top the partition left out
            candidates[np.argmin(nearest[candidates])] = first
        candidates.sort()  # positions, so cell by cell
        outside = np.ones(len(nearest), dtype=bool)
        outside[candidates] = False
        # Rows outside the candidates are at most this far from the picks.
        ceiling = float(nearest[outside].max()) if outside.any() else -np.inf
        current = nearest[candidates].copy()
        pointer, partner, distance = self._among(candidates, current)
        row = self.order[candidates]  # ties go to the lower row
        picks: list[int] = []
        at = int(np.flatnonzero(candidates == first)[0])
        while True:
            picks.append(int(candidates[at]))
            lo, hi = pointer[at], pointer[at + 1]
            near = partner[lo:hi]
            current[near] = np.minimum(current[near], distance[lo:hi])
            current[at] = -1.0
            if len(picks) >= min(wanted, size // 2):
                break
            top = current.max()
            if top <= ceiling or top <= min_distance:
                break
            ties = np.flatnonzero(current == top)
            at = int(ties[np.argmin(row[ties])]) if len(ties) > 1 else int(ties[0])
        self.apply(picks)
        return picks

    def _among(self, candidates: np.ndarray, current: np.ndarray):
        """The candidate pairs (i, j) whose distance is below j's current distance - the
        only ones where picking i changes j - as sparse rows: i's partners are
        `partner[pointer[i]:pointer[i + 1]]` at `distance[...]`. Computed cell against
        the cells close enough to matter."""
        block = self.rows[candidates]
        if len(candidates) <= DENSE_AMONG:
            d = 1.0 - _large_product(block, block.T)
            i, j = np.nonzero(d < current[None, :])
            return np.searchsorted(i, np.arange(len(candidates) + 1)), j, d[i, j]
        cell_of = np.searchsorted(self.cells.start, candidates, "right") - 1
        present, first = np.unique(cell_of, return_index=True)
        bounds = np.r_[first, len(candidates)]
        far = np.full(self.cells.cells, -np.inf, dtype=np.float32)
        far[present] = np.maximum.reduceat(current, first)
        # Cells whose candidates a candidate may bring closer (its own always does).
        reach = self._bound(block) < far[None, :]
        found_i, found_j, found_d = [], [], []
        for g in range(len(present)):
            lo, hi = bounds[g], bounds[g + 1]
            targets = np.flatnonzero(reach[lo:hi].any(axis=0)[cell_of])
            d = 1.0 - block[lo:hi] @ block[targets].T
            i, j = np.nonzero(d < current[targets])
            found_i.append(i + lo)
            found_j.append(targets[j])
            found_d.append(d[i, j])
        i = np.concatenate(found_i)  # already in order: groups in order, rows within
        pointer = np.searchsorted(i, np.arange(len(candidates) + 1))
        return pointer, np.concatenate(found_j), np.concatenate(found_d)

    def _bound(self, points: np.ndarray) -> np.ndarray:
        """Lower bound of the cosine distance from each point to any member of each cell
        (points x cells)."""
        gap = _distances(points, self.cells.centres) - self.cells.radius[None, :] - MARGIN
        return np.square(np.maximum(gap, 0.0)) / 2.0

    def apply(self, picks: list[int]) -> None:
        """Lower every row's distance for `picks`, in the cells they can bring closer."""
        nearest, start = self.nearest, self.cells.start
        points = self.rows[picks]
        bound = self._bound(points).T
        nearest[picks] = -1.0  # taken: never the farthest again, whatever the rounding
        reach = bound < self.cell_far[:, None]
        if reach.mean() > DENSE_APPLY:
            # The first picks are far from everything: every row, a block at a time.
            for lo in range(0, len(nearest), BLOCK_ROWS):
                hi = min(lo + BLOCK_ROWS, len(nearest))
                self._lower(lo, hi, _large_product(self.rows[lo:hi], points.T))
        else:
            self._apply_by_cell(points, reach)
        # Taken rows and lowered distances only lower a cell's farthest row.
        self.cell_far[self.filled] = np.maximum.reduceat(nearest, start[:-1][self.filled])

    def _apply_by_cell(self, points: np.ndarray, reach: np.ndarray) -> None:
        """Each touched cell against the picks that reach it: a touched cell meets only a
        few of the round's picks, so the loop keeps to a handful of calls."""
        start = self.cells.start
        cell_of, pick_of = np.nonzero(reach)
        split = np.flatnonzero(np.diff(cell_of)) + 1
        firsts = cell_of[np.r_[0, split]].tolist() if len(cell_of) else []
        for c, reach in zip(firsts, np.split(pick_of, split), strict=False):
            lo, hi = start[c], start[c + 1]
            self._lower(lo, hi, self.rows[lo:hi] @ points[reach].T)

    def _lower(self, lo: int, hi: int, products: np.ndarray) -> None:
        """Rows lo:hi's distances lowered to their nearest of the picks, given the
        rows' dot products with the picks (rows x picks)."""
        closest = products.max(axis=1)
        np.subtract(1.0, closest, out=closest)
        np.minimum(self.nearest[lo:hi], closest, out=self.nearest[lo:hi])
