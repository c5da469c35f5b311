"""Reads of the embeddings app: a scene's sampled frames and embedding state, backlog.

All default to the configured model (CATALOG_CLIP_*), named without loading weights.
"""

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, When

from catalog.media import media_url
from catalog.models import Scene
from catalog.moments import MOMENT_FIELDS
from catalog.selectors import EXACT_COUNT_MAX_ROWS, last_ingest_at, live_rows
from embeddings.encoder import configured_model_name
from embeddings.models import EmbeddingModel, Frame, SceneEmbeddingState

State = SceneEmbeddingState.State


def _model(model: EmbeddingModel | str | None) -> EmbeddingModel | None:
    if isinstance(model, EmbeddingModel):
        return model
    return EmbeddingModel.objects.filter(name=model or configured_model_name()).first()


def configured_model() -> EmbeddingModel | None:
    """The configured model's row (CATALOG_CLIP_*), None before anything was embedded."""
    return _model(None)


# The columns of a Frame row that frame_view reads.
FRAME_VIEW_VALUES = ("camera", "t_s", "thumbnail_uri", *MOMENT_FIELDS)


def frame_view(row: dict) -> dict:
    """A sampled moment as results and pages show it, from a Frame row's
    FRAME_VIEW_VALUES: `{"camera", "t_s", "thumbnail_url", "signals": {speed_mps, ...}}`
    (the vehicle's state at t_s)."""
    uri = row["thumbnail_uri"]
    return {
        "camera": row["camera"],
        "t_s": row["t_s"],
        "thumbnail_url": media_url(uri) if uri else None,
        "signals": {name: row[name] for name in MOMENT_FIELDS},
    }


def frame_views(*, frame_ids: Sequence[int]) -> dict[int, dict]:
    """frame_view of each frame, by frame id."""
    rows = Frame.objects.filter(id__in=list(frame_ids)).values("id", *FRAME_VIEW_VALUES)
    return {row["id"]: frame_view(row) for row in rows}


def representative_frames(
    *, scene_pks: Sequence[int], cameras: Sequence[str] | None = None
) -> dict[int, dict]:
    """The moment that stands for each scene when no query picked one, by scene pk (as
    `frame_view`): its earliest sampled frame, from a front camera when
    there is one (what the driver sees), wide before narrow; only `cameras` if given."""
    frames = Frame.objects.filter(scene_id__in=list(scene_pks))
    if cameras:
        frames = frames.filter(camera__in=list(cameras))
    rows = (
        frames.annotate(
            side=Case(When(camera__startswith="front", then=0), default=1),
            narrow=Case(When(camera__contains="wide", then=0), default=1),
        )
        .order_by("scene_id", "t_s", "side", "narrow", "camera")
        .distinct("scene_id")
        .values("scene_id", *FRAME_VIEW_VALUES)
    )
    return {row["scene_id"]: frame_view(row) for row in rows}


# The sampled frame nearest each moment: nearest in time, then the camera that stands
# for a scene (front before side and rear, wide before narrow), as representative_frames.
_FRAMES_AT = """
    SELECT m.ord, f.id, f.camera, f.t_s, f.thumbnail_uri, halfvec_send(f.embedding)
    FROM unnest(%s::bigint[], %s::float8[]) WITH ORDINALITY AS m(scene_id, t_s, ord)
    CROSS JOIN LATERAL (
        SELECT fr.id, fr.camera, fr.t_s, fr.thumbnail_uri,
               fe.embedding::halfvec({dim}) AS embedding
        FROM embeddings_frame fr
        JOIN embeddings_frameembedding fe ON fe.frame_id = fr.id AND fe.model_id = {model}
        WHERE fr.scene_id = m.scene_id {cameras}
        ORDER BY abs(fr.t_s - m.t_s), fr.camera NOT LIKE 'front%%',
                 fr.camera NOT LIKE '%%wide%%', fr.camera, fr.t_s
        LIMIT 1
    ) f
"""


def frames_at(
    *,
    moments: Sequence[tuple[int, float]],
    model: EmbeddingModel,
    cameras: Sequence[str] | None = None,
) -> list[dict | None]:
    """For each (scene pk, t_s), the sampled frame with a vector of `model` nearest that
    time (see `_FRAMES_AT` for the camera it prefers), as `{"frame_id", "camera", "t_s",
    "thumbnail_uri", "vector"}` (unit float32), or None for a scene without one."""
    if not moments:
        return []
    dim = int(model.dim)
    sql = _FRAMES_AT.format(
        dim=dim, model=int(model.id), cameras="AND fr.camera = ANY(%s)" if cameras else ""
    )
    params: list = [[int(pk) for pk, _ in moments], [float(t) for _, t in moments]]
    if cameras:
        params.append(list(cameras))
    out: list[dict | None] = [None] * len(moments)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for ord_, frame_id, camera, t_s, thumbnail_uri, packed in cur.fetchall():
            vector = np.frombuffer(bytes(packed)[4:], dtype=">f2").astype(np.float32)
            vector /= max(float(np.linalg.norm(vector)), 1e-12)
            out[ord_ - 1] = {
                "frame_id": frame_id,
                "camera": camera,
                "t_s": t_s,
                "thumbnail_uri": thumbnail_uri,
                "vector": vector,
            }
    return out


def scene_frames(scene: Scene, *, model: EmbeddingModel | str | None = None) -> list[dict]:
    """`[{"camera", "t_s", "thumbnail_uri"}]` of the frames embedded with the model,
    by camera then time."""
    embedding_model = _model(model)
    if embedding_model is None:
        return []
    return list(
        Frame.objects.filter(scene=scene, embeddings__model=embedding_model)
        .order_by("camera", "t_s")
        .values("camera", "t_s", "thumbnail_uri")
    )


def scene_embedding_state(scene: Scene, *, model: EmbeddingModel | str | None = None) -> dict:
    """`{"model", "state", "error", "frames", "updated_at", "stale"}` for the scene.

    `state` is pending for a scene never queued too; `stale` is true when the scene
    changed since its vectors were computed (it is queued again on ingest).
    """
    name = model.name if isinstance(model, EmbeddingModel) else model or configured_model_name()
    embedding_model = _model(model)
    state = (
        SceneEmbeddingState.objects.filter(scene=scene, model=embedding_model).first()
        if embedding_model
        else None
    )
    if state is None:
        return {
            "model": name,
            "state": State.PENDING.value,
            "error": "",
            "frames": 0,
            "updated_at": None,
            "stale": False,
        }
    return {
        "model": name,
        "state": state.state,
        "error": state.error,
        "frames": Frame.objects.filter(scene=scene, embeddings__model=embedding_model).count(),
        "updated_at": state.updated_at.isoformat(),
        "stale": state.state == State.DONE and state.content_sha256 != scene.content_sha256,
    }


def embedding_backlog(*, model: EmbeddingModel | str | None = None) -> dict:
    """Scenes per state for the model (for a status bar): `{"model", "pending",
    "running", "done", "failed", "total"}`; scenes never queued count as pending."""
    name = model.name if isinstance(model, EmbeddingModel) else model or configured_model_name()
    embedding_model = _model(model)
    counts = {state.value: 0 for state in State}
    if embedding_model is not None:
        rows = (
            SceneEmbeddingState.objects.filter(model=embedding_model)
            .values("state")
            .annotate(n=Count("id"))
        )
        counts.update({row["state"]: row["n"] for row in rows})
    total = Scene.objects.count()
    counts[State.PENDING] += max(0, total - sum(counts.values()))
    return {"model": name, **counts, "total": total}


def recent_failures(
    model: EmbeddingModel, *, since: datetime, limit: int = 5
) -> list[tuple[str, str]]:
    """`(scene_id, error)` of the first scenes that failed with the model since `since`."""
    return list(
        SceneEmbeddingState.objects.filter(model=model, state=State.FAILED, updated_at__gte=since)
        .order_by("updated_at")
        .values_list("scene__scene_id", "error")[:limit]
    )


def embedding_counts(*, model: EmbeddingModel | str | None = None) -> dict:
    """`{"model", "scenes", "embedded", "pending", "failed"}` for the status endpoint,
    cheap at 10^6 scenes: the catalog's size and the model's states from the statistics'
    live-row counts, the small states (waiting, running, failed) counted exactly through
    the (model, state) index. `pending` includes scenes never queued and running ones;
    `embedded` is every scene with vectors (for its current content or an older one)."""
    name = model.name if isinstance(model, EmbeddingModel) else model or configured_model_name()
    embedding_model = _model(model)
    scenes = live_rows(Scene._meta.db_table)
    counts = {"model": name, "scenes": scenes, "embedded": 0, "pending": scenes, "failed": 0}
    if embedding_model is None:
        return counts
    unfinished = dict(
        SceneEmbeddingState.objects.filter(
            model=embedding_model, state__in=[State.PENDING, State.RUNNING, State.FAILED]
        )
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    states = _model_states(embedding_model)
    failed = unfinished.get(State.FAILED, 0)
    waiting = unfinished.get(State.PENDING, 0) + unfinished.get(State.RUNNING, 0)
    embedded = max(0, min(scenes, states) - waiting - failed)
    counts.update(embedded=embedded, failed=failed, pending=max(0, scenes - embedded - failed))
    return counts


def _model_states(model: EmbeddingModel) -> int:
    """State rows of the model (done, waiting, running or failed)."""
    total = live_rows(SceneEmbeddingState._meta.db_table)
    if EmbeddingModel.objects.count() == 1:
        return total
    if total < EXACT_COUNT_MAX_ROWS:
        return SceneEmbeddingState.objects.filter(model=model).count()
    # Several models in a large table: the model's share from the column statistics.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text::text[], most_common_freqs FROM pg_stats "
            "WHERE tablename = %s AND attname = 'model_id'",
            [SceneEmbeddingState._meta.db_table],
        )
        row = cursor.fetchone()
    shares = dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}
    return round(total * shares.get(str(model.pk), 1.0))


# The status endpoint is polled by every open page and by monitoring: one answer per
# process for a few seconds.
STATUS_CACHE_S = 5
STATUS_CACHE_KEY = "embeddings:catalog-status"


def catalog_status() -> dict:
    """How fresh the catalog is: `{"scenes", "embedded", "pending_embed", "failed_embed",
    "last_ingest_at", "watch_uri", "model"}` (see `embedding_counts`)."""
    return cache.get_or_set(STATUS_CACHE_KEY, _catalog_status, STATUS_CACHE_S)


def _catalog_status() -> dict:
    counts = embedding_counts()
    return {
        "scenes": counts["scenes"],
        "embedded": counts["embedded"],
        "pending_embed": counts["pending"],
        "failed_embed": counts["failed"],
        "last_ingest_at": last_ingest_at(),
        "watch_uri": settings.CATALOG_INGEST_WATCH_URI,
        "model": counts["model"],
    }
