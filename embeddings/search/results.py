"""Search hits as results: the scene, its score, the moment that matched (or stands for
it) and the scene's summary, so a client needs no second request per result.

A search first ranks what it found as `Found` rows (scene, moment, score, how it
matched); `results` then reads what the rows show, for a whole page at once. Standing
queries keep the `Found` rows and build results only for what they report.
"""

from dataclasses import dataclass, field
from typing import Any

from catalog.selectors import scene_summaries
from embeddings.search.vector_sql import FrameHit
from embeddings.selectors import frame_views, representative_frames

# (hit, its rank in the vector ranking or None, fused score or None)
Ranked = tuple[FrameHit, int | None, float | None]


@dataclass(frozen=True)
class Found:
    scene_pk: int
    frame_id: int | None  # the moment that matched; None: the scene's representative one
    score: float | None
    match: dict[str, Any] = field(default_factory=dict)


def vector_found(ranked: list[Ranked], tags_by_scene: dict[int, list[str]]) -> list[Found]:
    found = []
    for hit, vector_rank, fused in ranked:
        match: dict[str, Any] = {
            "vector": {"rank": vector_rank, "score": round(hit.score, 6)},
            "tags": tags_by_scene.get(hit.scene_pk, []),
        }
        if fused is not None:
            match["fused"] = fused
        found.append(Found(hit.scene_pk, hit.frame_id, round(hit.score, 6), match))
    return found


def filter_found(scene_pks: list[int]) -> list[Found]:
    """Scenes a filters-only search found, in their order."""
    return [Found(pk, None, None, {"filters": True}) for pk in scene_pks]


def moment_found(picked: list[tuple[int, int]]) -> list[Found]:
    """`(scene_pk, frame_id)` pairs, in order, naming the moment that qualified."""
    return [
        Found(pk, frame_id, None, {"filters": True, "at_moment": True}) for pk, frame_id in picked
    ]


def results(
    found: list[Found], *, cameras: tuple[str, ...] | None = None, keep_gone: bool = False
) -> list[dict]:
    """`found` as result dicts, in order. A row whose scene is gone is dropped; one whose
    moment is gone too (deleted between the ranking and now), unless `keep_gone`: then
    it shows the scene's representative moment, as rows without a moment do."""
    frames = frame_views(frame_ids=[f.frame_id for f in found if f.frame_id is not None])
    standing_in = [
        f.scene_pk for f in found if f.frame_id is None or (keep_gone and f.frame_id not in frames)
    ]
    representative = (
        representative_frames(scene_pks=standing_in, cameras=cameras) if standing_in else {}
    )
    summaries = scene_summaries(scene_pks=[f.scene_pk for f in found])
    out = []
    for row in found:
        scene = summaries.get(row.scene_pk)
        frame = frames.get(row.frame_id) if row.frame_id is not None else None
        if frame is None and row.frame_id is not None and not keep_gone:
            continue
        if scene is None:
            continue
        out.append(
            {
                "scene_id": scene["scene_id"],
                "score": row.score,
                "frame": frame or representative.get(row.scene_pk),
                "scene": scene,
                "match": row.match,
            }
        )
    return out
