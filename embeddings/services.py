"""Writes of the embeddings app: model registration, queueing and embedding scenes.

A scene's embedding with one model is tracked by its SceneEmbeddingState row:
pending -> running -> done | failed. Every write is idempotent: vectors are upserted
on their natural keys (one per (frame, model), enforced by the database), so a task
that runs twice - redelivered after a worker died - stores each vector once.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from catalog import jobs, logcontext, storage
from catalog.models import Job, Scene
from embeddings import hooks, sampling, vector_index
from embeddings.encoder import ClipEncoder, EncoderUnavailable, get_encoder
from embeddings.models import (
    EmbeddingModel,
    Frame,
    FrameEmbedding,
    SceneEmbedding,
    SceneEmbeddingState,
)
from embeddings.moments import refresh_moment_states
from embeddings.pipeline import EmbeddedFrame, embed_scene_frames
from embeddings.transient import TransientError, classify_storage_error

logger = logging.getLogger(__name__)
State = SceneEmbeddingState.State

# A scene whose task started this many times without finishing (the worker died each
# time, e.g. out of memory) is marked failed instead of being redelivered forever.
MAX_ATTEMPTS = 8


# --- models ------------------------------------------------------------------------------


@transaction.atomic
def embedding_model_ensure(encoder: ClipEncoder) -> EmbeddingModel:
    """The model's row, registered with its partial HNSW indexes on first use (of the
    frame index kind `CATALOG_FRAME_INDEX` names; see embeddings.vector_index).

    Needs only the model's config (its dim), not its weights. Call it before writing
    vectors in the same transaction: PostgreSQL refuses CREATE INDEX on a table with
    pending deferred (foreign-key) checks.
    """
    model = EmbeddingModel.objects.filter(name=encoder.model_name).first()
    if model is not None:
        return model
    with connection.cursor() as cursor:
        # Serialise first registrations: CREATE INDEX IF NOT EXISTS is not race-free.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('embeddings.model_ensure'))")
    model, created = EmbeddingModel.objects.get_or_create(
        name=encoder.model_name,
        defaults={
            "architecture": encoder.architecture,
            "pretrained": encoder.pretrained or encoder.model_name.partition("/")[2],
            "dim": encoder.dim,
            "frame_index": settings.CATALOG_FRAME_INDEX,
        },
    )
    if created:
        vector_index.create_indexes(model)
    return model


# --- queueing ----------------------------------------------------------------------------


def embedding_job_create(*, total: int, model: EmbeddingModel, trigger: str) -> Job:
    """A Job whose progress counts `total` scenes as they finish (done or failed)."""
    return jobs.job_create(
        kind=Job.Kind.EMBED, params={"model": model.name, "trigger": trigger}, total=total
    )


@transaction.atomic
def scenes_attach_to_job(*, scene_pks: Sequence[int], model: EmbeddingModel, job: Job) -> None:
    """Mark the scenes pending for `job` (attempts reset: a user asked again).

    A scene still waiting for an older job is credited to that job now (as if done) and
    moves to the new one, so every job's done count reaches its total.
    """
    pks = sorted(set(scene_pks))
    if pks:
        _credit_superseded_jobs(pks, model, job)
        _mark_pending(pks, model, job)


def _credit_superseded_jobs(pks: list[int], model: EmbeddingModel, job: Job) -> None:
    superseded = (
        SceneEmbeddingState.objects.filter(model=model, scene_id__in=pks, job__isnull=False)
        .exclude(job=job)
        .values("job_id")
        .annotate(n=Count("id"))
        .order_by("job_id")  # lock jobs in one order: concurrent callers cannot deadlock
    )
    for row in superseded:
        jobs.job_count_units(job_id=row["job_id"], units=row["n"])


def _mark_pending(pks: list[int], model: EmbeddingModel, job: Job) -> None:
    table = SceneEmbeddingState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (scene_id, model_id, state, error, content_sha256, attempts, job_id, updated_at)
            SELECT pk, %s, %s, '', '', 0, %s, now() FROM unnest(%s::bigint[]) AS pk
            ON CONFLICT (scene_id, model_id) DO UPDATE
            SET state = EXCLUDED.state, error = '', attempts = 0, job_id = EXCLUDED.job_id,
                updated_at = now()
            """,
            [model.pk, State.PENDING, job.pk, pks],
        )


def scenes_to_embed(model: EmbeddingModel):
    """Scenes not embedded with `model`: never queued, pending, failed, changed since,
    or left running longer than a task may live (its worker and message were lost)."""
    states = SceneEmbeddingState.objects.filter(model=model)
    stale_before = timezone.now() - timezone.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    finished = states.filter(state=State.DONE, content_sha256=F("scene__content_sha256"))
    in_flight = states.filter(state=State.RUNNING, updated_at__gte=stale_before)
    return (
        Scene.objects.exclude(pk__in=finished.values("scene_id"))
        .exclude(pk__in=in_flight.values("scene_id"))
        .order_by("pk")
    )


@transaction.atomic
def scenes_release_stuck(
    *, in_flight: set[int] | None, older_than_s: float
) -> list[tuple[int, str]]:
    """Scenes left `running` by a worker that died (SIGKILL, OOM, lost machine), made
    pending again; returns `(scene pk, model name)` of each, for the caller to queue.

    `in_flight` is the scenes the live workers say they are embedding (None: no worker
    answered, so none is). A scene in it, or running for less than `older_than_s` (its
    task may have begun after the workers were asked), is left alone. Rows are locked
    with SKIP LOCKED, so two reapers never release a scene twice. The attempt count is
    kept: a scene that kills its worker every time still fails after MAX_ATTEMPTS.
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_s)
    stuck = (
        SceneEmbeddingState.objects.select_for_update(skip_locked=True)
        .filter(state=State.RUNNING, updated_at__lt=cutoff)
        .exclude(scene_id__in=in_flight or ())
        .select_related("model")
    )
    rows = list(stuck)
    SceneEmbeddingState.objects.filter(pk__in=[row.pk for row in rows]).update(
        state=State.PENDING, updated_at=timezone.now()
    )
    return [(row.scene_id, row.model.name) for row in rows]


# --- embedding one scene -----------------------------------------------------------------


@dataclass(frozen=True)
class EmbedOutcome:
    state: str  # done | failed | skipped (already done for this content) | gone
    frames: int = 0
    error: str = ""


def scene_embed(
    *, scene_pk: int, model_name: str | None = None, force: bool = False
) -> EmbedOutcome:
    """Sample, thumbnail and embed one scene's camera videos with one model.

    Transient errors (S3 throttling, a dropped connection) propagate as TransientError
    for the task to retry; anything else about this scene - missing or corrupt video,
    weights that cannot load - marks only this scene failed with the reason.
    """
    from embeddings.encoder import encoder_for_model_name

    encoder = encoder_for_model_name(model_name) if model_name else get_encoder()
    model = embedding_model_ensure(encoder)
    scene = Scene.objects.filter(pk=scene_pk).first()
    if scene is None:
        return EmbedOutcome("gone")  # deleted since it was queued; its state went with it
    logcontext.update(scene=scene.scene_id)
    begun = _begin(scene, model, force=force)
    if begun is not None:
        return begun
    try:
        frames = _compute(scene, model, encoder)
    except TransientError:
        raise
    except storage.StorageError as exc:
        transient = classify_storage_error(exc)
        if transient is not None:
            raise transient from exc
        return scene_embed_fail(scene_pk=scene.pk, model=model, error=str(exc))
    except (sampling.VideoError, EncoderUnavailable, NoCameras) as exc:
        return scene_embed_fail(scene_pk=scene.pk, model=model, error=str(exc))
    return _store(scene, model, frames)


class NoCameras(Exception):
    pass


def _begin(scene: Scene, model: EmbeddingModel, *, force: bool) -> EmbedOutcome | None:
    """Mark the scene running (committed, so the UI shows it); or finish at once when it
    is already embedded for its current content, or has failed too many times."""
    with transaction.atomic():
        state, _ = SceneEmbeddingState.objects.select_for_update().get_or_create(
            scene=scene, model=model
        )
        if not force and state.state == State.DONE and state.content_sha256 == scene.content_sha256:
            if state.job_id is not None:
                _count_for_job(state, failed=False)
                state.save(update_fields=["job", "updated_at"])
            return EmbedOutcome("skipped")
        logcontext.update(job=state.job_id)
        if state.attempts >= MAX_ATTEMPTS:
            error = f"gave up after {state.attempts} attempts that did not finish"
            _finish(state, State.FAILED, error=error)
            return EmbedOutcome(State.FAILED, error=error)
        state.state = State.RUNNING
        state.attempts = F("attempts") + 1
        state.save(update_fields=["state", "attempts", "updated_at"])
    return None


def _compute(scene: Scene, model: EmbeddingModel, encoder: ClipEncoder) -> list[EmbeddedFrame]:
    videos = selected_cameras(scene)
    if not videos:
        raise NoCameras(
            f"no camera to embed: the scene has {sorted(scene.cameras) or 'none'}, "
            f"CATALOG_EMBED_CAMERAS is {','.join(settings.CATALOG_EMBED_CAMERAS)}"
        )
    frames = embed_scene_frames(
        scene_id=scene.scene_id,
        videos=videos,
        times=sampling.sample_times(scene.duration_s, settings.CATALOG_EMBED_HZ),
        encoder=encoder,
        batch_size=settings.CATALOG_EMBED_BATCH_SIZE,
        existing_thumbnails=_reusable_thumbnails(scene, model),
    )
    if not frames:
        raise sampling.VideoError(f"no frames could be sampled from {sorted(videos)}")
    return frames


def selected_cameras(scene: Scene) -> dict[str, str]:
    """camera -> video URI of the cameras CATALOG_EMBED_CAMERAS selects."""
    wanted = settings.CATALOG_EMBED_CAMERAS
    if not wanted or "all" in wanted:
        return dict(sorted(scene.cameras.items()))
    return {name: scene.cameras[name] for name in wanted if name in scene.cameras}


def _reusable_thumbnails(scene: Scene, model: EmbeddingModel) -> dict[tuple[str, float], str]:
    """Thumbnails another model already wrote for this very content: embedding a second
    model does not rewrite (and re-PUT) them."""
    current = (
        SceneEmbeddingState.objects.filter(
            scene=scene, state=State.DONE, content_sha256=scene.content_sha256
        )
        .exclude(model=model)
        .exists()
    )
    if not current:
        return {}
    return {
        (camera, t_s): uri
        for camera, t_s, uri in Frame.objects.filter(scene=scene)
        .exclude(thumbnail_uri="")
        .values_list("camera", "t_s", "thumbnail_uri")
    }


@transaction.atomic
def _store(scene: Scene, model: EmbeddingModel, frames: list[EmbeddedFrame]) -> EmbedOutcome:
    """Replace the scene's vectors for this model with `frames`, all at once."""
    state = SceneEmbeddingState.objects.select_for_update().get(scene=scene, model=model)
    stored = Frame.objects.bulk_create(
        [
            Frame(scene=scene, camera=f.camera, t_s=f.t_s, thumbnail_uri=f.thumbnail_uri)
            for f in frames
        ],
        update_conflicts=True,
        unique_fields=["scene", "camera", "t_s"],
        update_fields=["thumbnail_uri"],
    )
    FrameEmbedding.objects.bulk_create(
        [
            FrameEmbedding(
                frame_id=row.pk, model=model, scene=scene, camera=f.camera, embedding=f.vector
            )
            for row, f in zip(stored, frames, strict=True)
        ],
        update_conflicts=True,
        unique_fields=["frame", "model"],
        update_fields=["embedding"],
    )
    keep = [row.pk for row in stored]
    # Moments no longer sampled (the scene changed) lose this model's vectors, and the
    # frame itself once no model has a vector for it.
    FrameEmbedding.objects.filter(scene=scene, model=model).exclude(frame_id__in=keep).delete()
    Frame.objects.filter(scene=scene, embeddings__isnull=True).exclude(pk__in=keep).delete()
    refresh_moment_states([scene.pk])
    SceneEmbedding.objects.bulk_create(
        [SceneEmbedding(scene=scene, model=model, embedding=scene_vector(frames))],
        update_conflicts=True,
        unique_fields=["scene", "model"],
        update_fields=["embedding"],
    )
    # The content the vectors came from, read when the task began: a scene re-ingested
    # meanwhile keeps a different sha and is embedded again.
    state.content_sha256 = scene.content_sha256
    _finish(state, State.DONE)
    hooks.notify_scenes_embedded([scene.pk], model.name)
    return EmbedOutcome(State.DONE, frames=len(frames))


def scene_vector(frames: list[EmbeddedFrame]) -> np.ndarray:
    """The normalised mean of the scene's (normalised) frame vectors."""
    mean = np.mean([f.vector for f in frames], axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


@transaction.atomic
def scene_embed_fail(*, scene_pk: int, model: EmbeddingModel, error: str) -> EmbedOutcome:
    """Mark the scene failed with the reason (its previous vectors, if any, stay)."""
    if not Scene.objects.filter(pk=scene_pk).exists():
        return EmbedOutcome("gone")
    state, _ = SceneEmbeddingState.objects.select_for_update().get_or_create(
        scene_id=scene_pk, model=model
    )
    logger.warning("embedding scene %s with %s failed: %s", scene_pk, model.name, error)
    _finish(state, State.FAILED, error=error)
    return EmbedOutcome(State.FAILED, error=error)


def _finish(state: SceneEmbeddingState, outcome: str, *, error: str = "") -> None:
    _count_for_job(state, failed=outcome == State.FAILED, error=error)
    state.state = outcome
    state.error = error[:4000]
    state.save()


def _count_for_job(state: SceneEmbeddingState, *, failed: bool, error: str = "") -> None:
    """Count the scene towards the job waiting for it, once: the caller saves the state
    row (which it holds locked) without the job, in the same transaction."""
    if state.job_id is None:
        return
    job_id, state.job = state.job_id, None
    jobs.job_count_units(
        job_id=job_id, failed=int(failed), error=f"{state.scene.scene_id}: {error}"
    )
