"""The Celery application. Tasks live in the domain apps (`*/tasks.py`).

Periodic tasks are listed in `periodic_tasks()` and sent by one `celery beat` process
(`make run` starts it; in production run exactly one). They go to the maintenance queue
(`CATALOG_MAINTENANCE_QUEUE`), which every worker consumes besides the default one, so
they never wait behind a backlog of embedding tasks; each expires after its interval, so
a worker that was down finds one pending run, not a pile of them.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

from catalog import logcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("catalog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _start_embedded_servers(sender, **kwargs):
    """`celery -A config worker` reads the app's configuration before anything loads Django
    settings: start the embedded servers first, as the other entry points do. In a Django
    process the settings are loaded already, and whoever loaded them did this."""
    from django.conf import settings

    if not settings.configured:
        from config import embedded

        embedded.bootstrap()


@worker_init.connect
def _background_session(sender=None, **kwargs):
    """Everything a worker does (ingest, embedding, standing queries) waits for the web's
    requests on a shared machine: in a session of its own (as the supervisor starts it),
    the worker's whole session yields the CPU (`catalog.ingest.priority`)."""
    from catalog.ingest.priority import yield_session_cpu

    yield_session_cpu()


def periodic_tasks(settings) -> dict[str, tuple[float, str]]:
    """Entry name -> (interval in seconds, task name)."""
    return {
        "reap stuck embeddings": (
            settings.CATALOG_EMBED_REAP_INTERVAL_S,
            "embeddings.reap_stuck_scenes",
        ),
    }


@app.on_after_configure.connect
def _schedule_periodic_tasks(sender, **kwargs):
    from django.conf import settings

    for name, (interval, task) in periodic_tasks(settings).items():
        sender.add_periodic_task(
            interval,
            sender.signature(task),
            name=name,
            queue=settings.CATALOG_MAINTENANCE_QUEUE,
            expires=interval,
        )


# The task a log line comes from, and the job or scene its first argument names.
TASK_SUBJECTS = {
    "catalog.ingest_manifest": "job",
    "embeddings.tasks.embed_scene": "scene",
}


@task_prerun.connect
def _bind_log_context(task_id=None, task=None, args=None, **kwargs):
    subject = TASK_SUBJECTS.get(getattr(task, "name", ""))
    values = {"task": f"{task.name}[{task_id}]" if task is not None else None}
    if subject and args:
        values[subject] = args[0]
    task.request.log_context_token = logcontext.set_context(**values)


@task_postrun.connect
def _unbind_log_context(task=None, **kwargs):
    token = getattr(getattr(task, "request", None), "log_context_token", None)
    if token is not None:
        logcontext.reset(token)
