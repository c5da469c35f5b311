"""Samples of a pool of scenes: `diverse` (scenes far apart in CLIP space) or `random`
(seeded). Both are repeatable: the same pool, n and seed give the same scenes.

- diverse: greedy farthest-point sampling over the scenes' whole-scene vectors from a
  seeded start (`embeddings.similarity.diverse_sample`); no two picks are
  near-duplicates. Scenes without a scene vector yet cannot be placed and are left out
  (counted in `without_vector`).
- random: a seeded permutation of the pool (in scene order, so the pool's own order does
  not matter); the first n are the sample.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from catalog.errors import InvalidInput
from curation.limits import MAX_SAMPLE
from embeddings.similarity import diverse_sample, scene_vector_matrix

STRATEGIES = ("diverse", "random")
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class SampleSpec:
    n: int
    strategy: str = "diverse"
    seed: int = 0

    @classmethod
    def from_json(cls, raw: Any) -> "SampleSpec":
        if not isinstance(raw, dict):
            raise InvalidInput({"sample": 'expected {"n": int, "strategy": str, "seed": int}'})
        unknown = sorted(set(raw) - {"n", "strategy", "seed"})
        if unknown:
            raise InvalidInput({f"sample.{name}": "unknown field" for name in unknown})
        n, strategy, seed = raw.get("n"), raw.get("strategy", "diverse"), raw.get("seed", 0)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLE:
            raise InvalidInput({"sample.n": f"a whole number 1..{MAX_SAMPLE} is required"})
        if strategy not in STRATEGIES:
            raise InvalidInput({"sample.strategy": f"one of {', '.join(STRATEGIES)}"})
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise InvalidInput({"sample.seed": f"a whole number 0..{MAX_SEED} is required"})
        return cls(n, strategy, seed)


@dataclass(frozen=True)
class Sample:
    """Scenes in the order they should be taken (all of them may not be: with dedup, a
    random sample walks on past skipped scenes), and what the sample says about itself."""

    ordered: list[int]
    info: dict


def sample_scenes(pool: list[int], spec: SampleSpec, *, model, min_score: float) -> Sample:
    """Order `pool` (scene pks) for taking `spec.n` of them. A diverse sample keeps no
    two scenes whose whole-scene similarity reaches `min_score`."""
    info = {"strategy": spec.strategy, "seed": spec.seed, "n": spec.n, "pool": len(pool)}
    if spec.strategy == "random":
        ordered = sorted(pool)
        permutation = np.random.default_rng(spec.seed).permutation(len(ordered))
        return Sample([ordered[i] for i in permutation], info)
    if model is None:
        raise InvalidInput(
            {"sample.strategy": "diverse sampling needs scene vectors; none are embedded yet"}
        )
    matrix = scene_vector_matrix(scene_pks=pool, model=model)
    info["without_vector"] = len(pool) - len(matrix)
    picks = diverse_sample(matrix, spec.n, seed=spec.seed, min_score=min_score)
    return Sample(picks, info)
