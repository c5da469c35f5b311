"""Celery tasks of the embeddings app: take ids, call one service.

`embed_scene` is safe to run twice (the service skips a scene already embedded for its
content and upserts vectors), so it acknowledges late and is requeued when its worker
dies mid-scene (settings: acks_late, reject_on_worker_lost, prefetch 1).
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from django.db import InterfaceError, OperationalError

from embeddings import services
from embeddings.encoder import get_encoder, share_cpus_with
from embeddings.transient import TransientError

logger = logging.getLogger(__name__)


@worker_init.connect
def _split_cpus_between_pool_processes(sender=None, **kwargs) -> None:
    """A prefork pool of N processes on a CPU host: each model gets 1/N of the cores."""
    pool = str(getattr(sender, "pool_cls", "prefork")).lower()
    concurrency = getattr(sender, "concurrency", None)
    if "prefork" in pool and isinstance(concurrency, int):
        share_cpus_with(concurrency)


MAX_RETRIES = 5
RETRY_BACKOFF_S = 10


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
)
def embed_scene(self, scene_pk: int, model_name: str | None = None) -> str:
    """Embed one scene with one model (default: the configured one)."""
    try:
        return services.scene_embed(scene_pk=scene_pk, model_name=model_name).state
    except (TransientError, OperationalError, InterfaceError) as exc:
        if self.request.retries >= self.max_retries:
            return _fail(scene_pk, model_name, f"gave up after {self.max_retries} retries: {exc}")
        logger.info("scene %s: transient error, retrying: %s", scene_pk, exc)
        raise self.retry(exc=exc, countdown=RETRY_BACKOFF_S * 2**self.request.retries) from exc
    except SoftTimeLimitExceeded:
        return _fail(scene_pk, model_name, "timed out (CATALOG_TASK_SOFT_TIME_LIMIT_S)")
    except Exception as exc:
        # A bug, not the scene's fault; still leave the scene failed (not "running"
        # forever) with the reason, and keep the traceback in the worker log.
        logger.exception("embedding scene %s failed", scene_pk)
        return _fail(scene_pk, model_name, f"internal error: {type(exc).__name__}: {exc}")


def _fail(scene_pk: int, model_name: str | None, error: str) -> str:
    from embeddings.encoder import encoder_for_model_name

    encoder = encoder_for_model_name(model_name) if model_name else get_encoder()
    model = services.embedding_model_ensure(encoder)
    return services.scene_embed_fail(scene_pk=scene_pk, model=model, error=error).state
