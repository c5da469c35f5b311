"""Dropping near-duplicates from scenes about to join a set.

Walking the candidates in order, a scene is skipped when it is a near-duplicate (whole-
scene similarity >= min_score) of a scene already in the set or of a candidate taken
before it; it is reported with the scene it duplicates (the most similar one; ties to
the earlier). A skipped scene takes nothing with it: a later candidate is compared with
what was taken, not with what was skipped. Scenes without a scene vector are never
near-duplicates (nothing to compare).
"""

from collections import defaultdict
from dataclasses import dataclass

from embeddings.similarity import near_duplicate_pairs, scene_vector_matrix


@dataclass(frozen=True)
class Deduped:
    kept: list[int]
    skipped: list[tuple[int, int]]  # (scene pk, pk of the scene it duplicates)
    walked: int  # candidates looked at (a walk with `take` stops early)


def dedup(
    candidates: list[int],
    *,
    existing: list[int],
    model,
    min_score: float,
    take: int | None = None,
) -> Deduped:
    """Keep candidates (in order) that duplicate neither `existing` nor a kept one, until
    `take` are kept (all by default)."""
    if model is None or not candidates:
        kept = candidates if take is None else candidates[:take]
        return Deduped(list(kept), [], len(kept))
    # A walk that stops at `take` usually needs only a prefix: look at twice what it
    # needs, and at more only if too many were skipped.
    size = len(candidates) if take is None else min(len(candidates), 2 * take + 100)
    existing_matrix = scene_vector_matrix(scene_pks=existing, model=model)
    while True:
        result = _walk(candidates[:size], existing_matrix, model, min_score, take)
        if take is None or len(result.kept) >= take or size >= len(candidates):
            return result
        size = min(len(candidates), 2 * size)


def _walk(candidates, existing_matrix, model, min_score, take) -> Deduped:
    matrix = scene_vector_matrix(scene_pks=candidates, model=model)
    outside = near_duplicate_pairs(
        model=model, left=matrix, right=existing_matrix, min_score=min_score
    )
    inside = near_duplicate_pairs(model=model, left=matrix, min_score=min_score)
    rank = {pk: i for i, pk in enumerate(candidates)}
    best_existing: dict[int, tuple[float, int]] = {}
    for a, b, score in outside.triples():
        if (-score, b) < best_existing.get(a, (1.0, 0)):
            best_existing[a] = (-score, b)
    neighbours: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for a, b, score in inside.triples():
        neighbours[a].append((score, b))
        neighbours[b].append((score, a))
    kept: list[int] = []
    taken: set[int] = set()
    skipped: list[tuple[int, int]] = []
    walked = 0
    for pk in candidates:
        if take is not None and len(kept) >= take:
            break
        walked += 1
        if pk in best_existing:
            skipped.append((pk, best_existing[pk][1]))
            continue
        earlier = [(-s, rank[o], o) for s, o in neighbours.get(pk, ()) if o in taken]
        if earlier:
            skipped.append((pk, min(earlier)[2]))
            continue
        kept.append(pk)
        taken.add(pk)
    return Deduped(kept, skipped, walked)
