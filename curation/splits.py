"""Splitting a set into parts (train / val / ...) that share nothing a model could
memorise: scenes linked by a drive or by near-duplication always land in the same part;
with `by_place`, the parts are also areas of the map apart from each other.

Links, then groups: scenes of one drive are linked whatever the time between them;
near-duplicates (whole-scene similarity >= min_score, `embeddings.similarity`) are
linked. Groups are the connected components of these links (scipy's
`connected_components`), so a chain of links keeps a whole chain together.

Assignment: groups in a seeded random order, then largest first (a stable sort, so the
seed orders groups of one size), each to the part furthest below its target (fraction x
items; ties to the part named first). Sizes follow the fractions as closely as the
groups allow, and the same items, parts and seed give the same split. With `by_place`,
areas first, then groups, and scenes on a border between areas are left out
(`curation.split_places`).

The parts are new sets, "<name> / <part>", owned by whoever splits (any signed-in user
may split a set they can read); items keep their note, label, time window and how they
were found. All or nothing: a failure creates no set.
"""

import math
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from catalog.errors import InvalidInput
from catalog.proximity import scene_tracks
from catalog.sql import id_array_literal
from curation import selectors, services
from curation.limits import (
    LABEL_MAX,
    MAX_SPLIT_PARTS,
    NAME_MAX,
    check_group_size,
    clean_min_score,
)
from curation.sampling import MAX_SEED
from curation.split_places import item_positions, place_parts
from embeddings.selectors import configured_model
from embeddings.similarity import (
    NEAR_DUPLICATE_MIN_SCORE,
    near_duplicate_pairs,
    scene_vector_matrix,
)

FRACTION_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SplitPart:
    part: str
    id: int
    name: str
    count: int


@dataclass(frozen=True)
class Split:
    sets: list[SplitPart]
    groups: int
    largest_group: int
    on_borders: int = 0
    group_elsewhere: int = 0

    def as_dict(self) -> dict:
        return {
            "sets": [vars(s) for s in self.sets],
            "groups": {"count": self.groups, "largest": self.largest_group},
            "left_out": {
                "count": self.on_borders + self.group_elsewhere,
                "on_borders": self.on_borders,
                "group_elsewhere": self.group_elsewhere,
            },
        }


@transaction.atomic
def scene_set_split(
    *,
    scene_set_id: int,
    actor,
    parts: dict,
    seed: int = 0,
    by_place: bool = False,
    min_score: float = NEAR_DUPLICATE_MIN_SCORE,
) -> Split:
    """Split the set's items into new sets, one per part (see the module docstring)."""
    source = selectors.scene_set_get(scene_set_id=scene_set_id)
    names, fractions = _clean_parts(parts, source.name)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput({"seed": f"a whole number 0..{MAX_SEED}"})
    if not isinstance(by_place, bool):
        raise InvalidInput({"by_place": "true or false"})
    min_score = clean_min_score("min_score", min_score)
    items, scenes, drives = _items(source.pk)
    if not len(items):
        raise InvalidInput({"items": "the scene set is empty; nothing to split"})
    check_group_size("items", len(items))
    group = _groups(scenes, drives, min_score=min_score)
    placed = None
    if by_place:
        placed = place_parts(scene_tracks(scenes), scenes, group, fractions, seed=seed)
        assigned = placed.part
    else:
        assigned = assign_groups(group, fractions, seed=seed)
    created = []
    for index, part in enumerate(names):
        name = f"{source.name} / {part}"
        try:
            target = services.scene_set_create(
                owner=actor, name=name, description=_description(source, parts, seed, by_place)
            )
        except InvalidInput as exc:
            raise InvalidInput(
                {"parts": f"{part}: {' '.join(exc.errors.get('name', []))}"}
            ) from exc
        count = _copy_items(source.pk, target.pk, items[assigned == index].tolist())
        created.append(SplitPart(part, target.pk, name, count))
    sizes = np.bincount(group)
    left_out = (0, 0) if placed is None else (placed.on_borders, placed.group_elsewhere)
    return Split(created, len(sizes), int(sizes.max()), *left_out)


def _clean_parts(parts, source_name: str) -> tuple[list[str], list[float]]:
    if not isinstance(parts, dict) or not 2 <= len(parts) <= MAX_SPLIT_PARTS:
        raise InvalidInput({"parts": f"an object of 2..{MAX_SPLIT_PARTS} part name -> fraction"})
    names, fractions = [], []
    for raw, fraction in parts.items():
        name = raw.strip() if isinstance(raw, str) else ""
        if not name or len(name) > LABEL_MAX or not name.isprintable():
            raise InvalidInput({"parts": f"part names are 1..{LABEL_MAX} printable characters"})
        if name in names:
            raise InvalidInput({"parts": f"part {name!r} is named twice"})
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise InvalidInput({"parts": f"{name}: a fraction (number) is required"})
        if not 0 < fraction <= 1:
            raise InvalidInput({"parts": f"{name}: a fraction must be > 0 and <= 1"})
        if len(f"{source_name} / {name}") > NAME_MAX:
            raise InvalidInput({"parts": f"{name}: the new set's name would be too long"})
        names.append(name)
        fractions.append(float(fraction))
    if not math.isclose(sum(fractions), 1.0, abs_tol=FRACTION_TOLERANCE):
        raise InvalidInput(
            {"parts": f"fractions must add up to 1 (they add up to {sum(fractions):g})"}
        )
    return names, fractions


def _items(set_pk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item ids, scene pks, drive pks or -1) in the order the items were added."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT i.id, i.scene_id, coalesce(s.drive_id, -1) FROM curation_scenesetitem i "
            "JOIN catalog_scene s ON s.id = i.scene_id WHERE i.scene_set_id = %s ORDER BY i.id",
            [set_pk],
        )
        rows = cur.fetchall()
    columns = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return columns[:, 0], columns[:, 1], columns[:, 2]


def _groups(scenes: np.ndarray, drives: np.ndarray, *, min_score: float):
    """Group number of each item (connected components of its links)."""
    # A drive's scenes: each linked to the drive's first one.
    with_drive = np.flatnonzero(drives >= 0)
    _, first, drive_of = np.unique(drives[with_drive], return_index=True, return_inverse=True)
    left, right = [with_drive], [with_drive[first][drive_of]]
    model = configured_model()
    if model is not None:
        matrix = scene_vector_matrix(scene_pks=scenes, model=model)
        pairs = near_duplicate_pairs(model=model, left=matrix, min_score=min_score)
        left.append(item_positions(scenes, pairs.left))
        right.append(item_positions(scenes, pairs.right))
    return components(len(scenes), np.concatenate(left), np.concatenate(right))


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component number of each of n elements linked by the pairs (left[i], right[i]),
    numbered by first appearance."""
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first, numbered = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[numbered]


def assign_groups(group: np.ndarray, fractions: list[float], *, seed: int) -> np.ndarray:
    """Part index of each element: whole groups, in a seeded order largest first, each to
    the part furthest below its target."""
    sizes = np.bincount(group)
    order = np.random.default_rng(seed).permutation(len(sizes))
    order = order[np.argsort(-sizes[order], kind="stable")]
    targets = np.asarray(fractions) * len(group)
    filled = np.zeros(len(fractions))
    part_of_group = np.empty(len(sizes), dtype=np.int64)
    for g in order.tolist():
        part = int(np.argmax(targets - filled))
        part_of_group[g] = part
        filled[part] += sizes[g]
    return part_of_group[group]


def _description(source, parts: dict, seed: int, by_place: bool) -> str:
    shares = ", ".join(f"{name} {fraction:g}" for name, fraction in parts.items())
    return (
        f"Part of set {source.pk} ({source.name}) split {shares} with seed {seed}"
        f"{', by place' if by_place else ''}."
    )


# The item ids drive the join (through the primary key): with `i.id = ANY(...)` beside
# the set condition, a set just filled (no statistics yet) got a plan that took 13 s to
# copy 80,000 items; this one takes well under a second whatever the statistics.
_COPY = """
    INSERT INTO curation_scenesetitem
        (scene_set_id, scene_id, added_by_id, added_at, query, query_model, note, label,
         t_start_s, t_end_s)
    SELECT %s, i.scene_id, i.added_by_id, i.added_at, i.query, i.query_model, i.note, i.label,
           i.t_start_s, i.t_end_s
    FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(id, ord)
    JOIN curation_scenesetitem i ON i.id = t.id
    WHERE i.scene_set_id = %s
    ORDER BY t.ord
"""


def _copy_items(source_pk: int, target_pk: int, item_ids: list[int]) -> int:
    with connection.cursor() as cur:
        cur.execute(_COPY, [target_pk, id_array_literal(item_ids), source_pk])
        return cur.rowcount
