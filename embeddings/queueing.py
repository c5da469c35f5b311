"""Queueing scenes for embedding: from ingestion (the catalog's scenes-changed hook) and
from `manage.py embed`. Tasks are sent only once the states and job are committed."""

import logging
from collections.abc import Iterable, Sequence

from catalog.models import Job
from embeddings import services
from embeddings.encoder import ClipEncoder, get_encoder
from embeddings.moments import refresh_moment_states

logger = logging.getLogger(__name__)

CHUNK = 2000  # scenes marked pending and sent per transaction


def enqueue_embedding(
    *, scene_pks: Sequence[int], encoder: ClipEncoder | None = None, trigger: str
) -> Job:
    """One embed Job over the scenes; each scene pending and sent to the workers."""
    from django.db import transaction

    from embeddings.tasks import embed_scene

    model = services.embedding_model_ensure(encoder or get_encoder())
    pks = sorted(set(scene_pks))
    job = services.embedding_job_create(total=len(pks), model=model, trigger=trigger)
    for chunk in _chunks(pks, CHUNK):
        with transaction.atomic():
            services.scenes_attach_to_job(scene_pks=chunk, model=model, job=job)
            for pk in chunk:
                embed_scene.delay_on_commit(pk, model.name)
    return job


def requeue_stuck_scenes(*, in_flight: set[int] | None, older_than_s: float) -> list[int]:
    """Queue again the scenes a dead worker left `running` (services.scenes_release_stuck);
    returns their pks. The tasks are sent once the pending states are committed."""
    from django.db import transaction

    from embeddings.tasks import embed_scene

    with transaction.atomic():
        released = services.scenes_release_stuck(in_flight=in_flight, older_than_s=older_than_s)
        for pk, model_name in released:
            embed_scene.delay_on_commit(pk, model_name)
    if released:
        logger.warning(
            "%d scene(s) left running by a worker that is gone queued again: %s",
            len(released),
            ", ".join(str(pk) for pk, _ in released[:20]),
        )
    return [pk for pk, _ in released]


def on_scenes_changed(scene_pks: Sequence[int]) -> None:
    """Listener for catalog.hooks: embed new and changed scenes with the configured model.

    Runs after ingestion committed; it must never break ingestion, so a failure here
    (e.g. an unknown CATALOG_CLIP_MODEL) is logged and left to `manage.py embed`.
    """
    try:
        # Frames already stored keep showing (and being filtered on) the state that the
        # new signals give, from now until the scene is embedded again.
        refresh_moment_states(scene_pks)
    except Exception:
        logger.exception("could not refresh the moment states of %d scenes", len(scene_pks))
    try:
        job = enqueue_embedding(scene_pks=scene_pks, trigger="ingest")
        logger.info("embedding job %s: %d scenes queued", job.pk, job.total)
    except Exception:
        logger.exception("could not queue %d changed scenes for embedding", len(scene_pks))


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
