"""Leakage between two frozen versions: pairs of scenes (a of one version, b of the
other) that would let a model see in training what it is measured on. A pair carries
every reason that holds:

- `same_drive`: the same drive, starting within `within_s` seconds of each other (drive
  and start time as frozen in the versions);
- `near_duplicate`: whole-scene similarity >= `min_score` (`embeddings.similarity`); a
  scene in both versions is a near-duplicate of itself, vectors or not;
- `same_place`: their tracks pass within 30 m (`catalog.proximity`).

Nothing compares all pairs: drives are joined in SQL, vectors are compared in memory
with the partition pruning of `embeddings.neighbours`, tracks through a grid. Vectors
and tracks are the scenes' current ones (a version freezes manifest values, and
neither is one).
"""

from dataclasses import dataclass

import numpy as np
from django.db import connection

from catalog.errors import InvalidInput, NotFound
from catalog.proximity import close_track_pairs, scene_tracks
from curation import selectors
from curation.limits import (
    DEFAULT_LEAKAGE_PAIRS,
    MAX_LEAKAGE_PAIRS,
    check_group_size,
    clean_min_score,
)
from curation.models import SceneSetVersion
from embeddings.search.vector_sql import local_settings
from embeddings.selectors import configured_model
from embeddings.similarity import (
    NEAR_DUPLICATE_MIN_SCORE,
    near_duplicate_pairs,
    scene_vector_matrix,
)

REASONS = ("same_drive", "near_duplicate", "same_place")
DEFAULT_WITHIN_S = 600.0
MAX_WITHIN_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class LeakageReport:
    count: int  # all pairs
    pairs: list[dict]  # this page: [{"a", "b", "reasons"}], by a then b (byte order)
    reasons: dict[str, int]  # pairs per reason
    leaking_scenes: int  # scenes of this version in at least one pair
    offset: int
    limit: int

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "pairs": self.pairs,
            "reasons": self.reasons,
            "leaking_scenes": self.leaking_scenes,
            "offset": self.offset,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class _Side:
    scene_ids: list[str]  # sorted (byte order)
    pks: np.ndarray  # live scene pk per scene id, -1 when the scene is gone


def version_leakage(
    *,
    version: SceneSetVersion,
    against: SceneSetVersion,
    within_s: float = DEFAULT_WITHIN_S,
    min_score: float = NEAR_DUPLICATE_MIN_SCORE,
    limit: int = DEFAULT_LEAKAGE_PAIRS,
    offset: int = 0,
) -> LeakageReport:
    """The leaking pairs between `version` (a) and `against` (b), `limit` of them from
    `offset` (see the module docstring)."""
    within_s = _clean_within(within_s)
    min_score = clean_min_score("min_score", min_score)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LEAKAGE_PAIRS:
        raise InvalidInput({"limit": f"a whole number 1..{MAX_LEAKAGE_PAIRS}"})
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput({"offset": "a whole number >= 0"})
    if version.pk == against.pk:
        raise InvalidInput({"against": "compare a version with another version"})
    for field, v in (("version", version), ("against", against)):
        check_group_size(field, v.count or 0)
    a, b = _side(version), _side(against)
    keys, bits = [], []
    for bit, found in enumerate(
        (_same_drive(version, against, a, b, within_s), _near(a, b, min_score), _place(a, b))
    ):
        keys.append(found)
        bits.append(np.full(len(found), 1 << bit, dtype=np.int64))
    keys_all, bits_all = np.concatenate(keys), np.concatenate(bits)
    order = np.argsort(keys_all, kind="stable")
    keys_all, bits_all = keys_all[order], bits_all[order]
    unique, starts = np.unique(keys_all, return_index=True)
    reasons = np.bitwise_or.reduceat(bits_all, starts) if len(unique) else bits_all
    page = slice(offset, offset + limit)
    width = max(len(b.scene_ids), 1)
    pairs = [
        {
            "a": a.scene_ids[key // width],
            "b": b.scene_ids[key % width],
            "reasons": [name for bit, name in enumerate(REASONS) if mask >> bit & 1],
        }
        for key, mask in zip(unique[page].tolist(), reasons[page].tolist(), strict=True)
    ]
    return LeakageReport(
        count=len(unique),
        pairs=pairs,
        reasons={
            name: int(np.count_nonzero(reasons >> bit & 1)) for bit, name in enumerate(REASONS)
        },
        leaking_scenes=len(np.unique(unique // width)),
        offset=offset,
        limit=limit,
    )


def resolve_version(reference: str) -> SceneSetVersion:
    """The version named `<set_id>:<n>` (also of a deleted set), or InvalidInput naming
    `against`."""
    set_id, _, number = str(reference).partition(":")
    if not (set_id.isdigit() and number.isdigit()):
        raise InvalidInput({"against": "expected <set_id>:<version number>, e.g. 12:3"})
    try:
        return selectors.version_get(scene_set_id=int(set_id), number=int(number))
    except NotFound as exc:
        raise InvalidInput({"against": str(exc)}) from exc


def _clean_within(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput({"within_s": "a number of seconds is required"})
    if not 0 <= value <= MAX_WITHIN_S:
        raise InvalidInput({"within_s": f"must be between 0 and {MAX_WITHIN_S:.0f} seconds"})
    return float(value)


def _side(version: SceneSetVersion) -> _Side:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT v.scene_id, coalesce(s.id, -1) FROM curation_scenesetversionitem v "
            "LEFT JOIN catalog_scene s ON s.scene_id = v.scene_id "
            'WHERE v.version_id = %s ORDER BY v.scene_id COLLATE "C"',
            [version.pk],
        )
        rows = cur.fetchall()
    return _Side([r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.int64))


def _keys(a: _Side, b: _Side, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Pairs of positions as one sortable number: a's position, then b's."""
    return ia.astype(np.int64) * max(len(b.scene_ids), 1) + ib.astype(np.int64)


def _positions(side: _Side, pks: np.ndarray) -> np.ndarray:
    live = np.flatnonzero(side.pks >= 0)
    by_pk = live[np.argsort(side.pks[live])]
    return by_pk[np.searchsorted(side.pks[by_pk], pks)]


_SAME_DRIVE = """
    WITH a AS (SELECT scene_id, drive_id, start_time FROM curation_scenesetversionitem
               WHERE version_id = %s AND drive_id IS NOT NULL),
         b AS (SELECT scene_id, drive_id, start_time FROM curation_scenesetversionitem
               WHERE version_id = %s AND drive_id IS NOT NULL)
    SELECT a.scene_id, b.scene_id FROM a JOIN b ON a.drive_id = b.drive_id
    WHERE abs(extract(epoch FROM a.start_time - b.start_time)) <= %s
"""


def _same_drive(version, against, a: _Side, b: _Side, within_s: float) -> np.ndarray:
    # A version just frozen has no statistics yet: the planner takes each side for a
    # handful of rows and joins them in a nested loop, 10^8 comparisons for two versions
    # of 10^4 scenes (10 s). A hash join on the drive is right at every size.
    with local_settings({"enable_nestloop": "off"}) as cur:
        cur.execute(_SAME_DRIVE, [version.pk, against.pk, within_s])
        rows = cur.fetchall()
    index_a = {scene_id: i for i, scene_id in enumerate(a.scene_ids)}
    index_b = {scene_id: i for i, scene_id in enumerate(b.scene_ids)}
    ia = np.array([index_a[r[0]] for r in rows], dtype=np.int64)
    ib = np.array([index_b[r[1]] for r in rows], dtype=np.int64)
    return _keys(a, b, ia, ib)


def _near(a: _Side, b: _Side, min_score: float) -> np.ndarray:
    # The same scene in both versions, whether or not it has a vector yet.
    same = np.intersect1d(a.scene_ids, b.scene_ids, assume_unique=True)
    index_a = {scene_id: i for i, scene_id in enumerate(a.scene_ids)}
    index_b = {scene_id: i for i, scene_id in enumerate(b.scene_ids)}
    ia = np.array([index_a[s] for s in same.tolist()], dtype=np.int64)
    ib = np.array([index_b[s] for s in same.tolist()], dtype=np.int64)
    found = [_keys(a, b, ia, ib)]
    model = configured_model()
    if model is not None:
        left = scene_vector_matrix(scene_pks=a.pks[a.pks >= 0], model=model)
        right = scene_vector_matrix(scene_pks=b.pks[b.pks >= 0], model=model)
        pairs = near_duplicate_pairs(model=model, left=left, right=right, min_score=min_score)
        found.append(_keys(a, b, _positions(a, pairs.left), _positions(b, pairs.right)))
    return np.concatenate(found)


def _place(a: _Side, b: _Side) -> np.ndarray:
    left = scene_tracks(a.pks[a.pks >= 0])
    right = scene_tracks(b.pks[b.pks >= 0])
    pa, pb = close_track_pairs(left, right)
    return _keys(a, b, _positions(a, pa), _positions(b, pb))
