"""Search hits as results: the scene, its score, the moment that matched (or stands for
it) and the scene's summary, so a client needs no second request per result."""

from typing import Any

from catalog.selectors import scene_summaries
from embeddings.search.vector_sql import FrameHit
from embeddings.selectors import frame_views, representative_frames

# (hit, its rank in the vector ranking or None, fused score or None)
Ranked = tuple[FrameHit, int | None, float | None]


def vector_results(ranked: list[Ranked], tags_by_scene: dict[int, list[str]]) -> list[dict]:
    frames = frame_views(frame_ids=[h.frame_id for h, _, _ in ranked])
    summaries = scene_summaries(scene_pks=[h.scene_pk for h, _, _ in ranked])
    results = []
    for hit, vector_rank, fused in ranked:
        frame, scene = frames.get(hit.frame_id), summaries.get(hit.scene_pk)
        if frame is None or scene is None:
            continue  # deleted between the ranking and now
        match: dict[str, Any] = {
            "vector": {"rank": vector_rank, "score": round(hit.score, 6)},
            "tags": tags_by_scene.get(hit.scene_pk, []),
        }
        if fused is not None:
            match["fused"] = fused
        results.append(
            {
                "scene_id": scene["scene_id"],
                "score": round(hit.score, 6),
                "frame": frame,
                "scene": scene,
                "match": match,
            }
        )
    return results


def filter_results(scene_pks: list[int], cameras: tuple[str, ...] | None) -> list[dict]:
    """Scenes a filters-only search found, in their order, each with the moment that
    stands for it."""
    frames = representative_frames(scene_pks=scene_pks, cameras=cameras)
    summaries = scene_summaries(scene_pks=scene_pks)
    return [
        {
            "scene_id": summaries[pk]["scene_id"],
            "score": None,
            "frame": frames.get(pk),
            "scene": summaries[pk],
            "match": {"filters": True},
        }
        for pk in scene_pks
        if pk in summaries
    ]


def moment_results(picked: list[tuple[int, int]]) -> list[dict]:
    """`(scene_pk, frame_id)` pairs, in order, as results naming that moment."""
    frames = frame_views(frame_ids=[frame_id for _, frame_id in picked])
    summaries = scene_summaries(scene_pks=[pk for pk, _ in picked])
    return [
        {
            "scene_id": summaries[pk]["scene_id"],
            "score": None,
            "frame": frames[frame_id],
            "scene": summaries[pk],
            "match": {"filters": True, "at_moment": True},
        }
        for pk, frame_id in picked
        if pk in summaries and frame_id in frames
    ]
