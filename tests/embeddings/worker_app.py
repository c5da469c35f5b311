"""The Celery app of the workers that tests/embeddings/test_worker_kill.py starts.

The project's app, with broker keys under a per-test prefix (tests running in parallel
share the embedded Redis) and a visibility timeout of seconds, so the messages of a
killed worker are recovered within the test. EMBED_TEST_BATCH_DELAY_S slows each model
batch down so that a kill lands in the middle of a scene.
"""

import os
import time

from config.celery import app
from embeddings.encoder import ClipEncoder

app.conf.broker_transport_options = {
    "global_keyprefix": os.environ["EMBED_TEST_KEYPREFIX"],
    "visibility_timeout": float(os.environ.get("EMBED_TEST_VISIBILITY_S", "6")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

_delay_s = float(os.environ.get("EMBED_TEST_BATCH_DELAY_S", "0"))
if _delay_s:
    _encode = ClipEncoder.encode_tensors

    def _slow_encode(self, batch):
        time.sleep(_delay_s)
        return _encode(self, batch)

    ClipEncoder.encode_tensors = _slow_encode
