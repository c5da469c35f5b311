"""The Celery app of the workers that tests/catalog/test_ingest_worker.py starts.

The project's app, with broker keys under a per-test prefix (tests share the embedded
Redis). INGEST_TEST_HANG_S makes every ingest wait that long before it reads its
manifest, so that a test can kill the worker, or hit the time limit, mid-ingest.
"""

import os
import time

from celery.signals import worker_process_init

from config.celery import app

app.conf.broker_transport_options = {"global_keyprefix": os.environ["INGEST_TEST_KEYPREFIX"]}


@worker_process_init.connect
def _slow_down_ingest(**kwargs) -> None:
    # In each pool child, once Django is set up.
    hang_s = float(os.environ.get("INGEST_TEST_HANG_S", "0"))
    if not hang_s:
        return
    from catalog import services

    ingest = services.manifest_ingest

    def hanging_ingest(**kwargs):
        time.sleep(hang_s)
        return ingest(**kwargs)

    services.manifest_ingest = hanging_ingest
