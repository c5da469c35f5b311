"""Celery tasks of the embeddings app: take ids, call one service.

`embed_scene` is safe to run twice (the service skips a scene already embedded for its
content and upserts vectors), so it acknowledges late and is requeued when its worker
dies mid-scene (settings: acks_late, reject_on_worker_lost, prefetch 1). When the whole
worker dies (its main process killed, the machine lost) nobody is left to requeue it, and
Redis would hand the message out again only after the broker's visibility timeout (three
hard time limits, half an hour): `reap_stuck_scenes`, sent by `celery beat` every
CATALOG_EMBED_REAP_INTERVAL_S, asks the live workers what they are embedding and queues
again the scenes left `running` by none of them.
"""

import logging

from celery import current_app, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from django.conf import settings
from django.db import InterfaceError, OperationalError

from embeddings import queueing, services
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


# Seconds to wait for the live workers' answers to "what are you running?".
INSPECT_TIMEOUT_S = 1.5


@shared_task(name="embeddings.reap_stuck_scenes", ignore_result=True)
def reap_stuck_scenes() -> int:
    """Queue again the scenes that a worker which no longer exists left `running`."""
    in_flight = scenes_in_flight()
    requeued = queueing.requeue_stuck_scenes(
        in_flight=in_flight, older_than_s=settings.CATALOG_EMBED_REAP_GRACE_S
    )
    return len(requeued)


def scenes_in_flight() -> set[int] | None:
    """Scene pks whose task a live worker is running; None when no worker answered.
    (A scene is `running` only while its task runs: messages a worker has reserved but
    not started are not asked about.)"""
    reply = current_app.control.inspect(timeout=INSPECT_TIMEOUT_S).active()
    if not reply:
        return None
    return {
        int(task["args"][0])
        for tasks in reply.values()
        for task in tasks
        if task.get("name") == embed_scene.name and task.get("args")
    }
