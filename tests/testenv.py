"""Loaded as a pytest plugin (`-p tests.testenv`, see pyproject.toml) so that it runs before
pytest-django imports the settings: the tiny untrained model, no network, Celery tasks
inline unless a test starts a real worker, cache keys of the session's own, and the
embedded servers started (or found running) when `DATABASE_URL` / `REDIS_URL` leave them
to us."""

import os
import uuid

from config import embedded

os.environ.setdefault("CATALOG_CLIP_MODEL", "test-tiny")
os.environ.setdefault("CATALOG_CLIP_PRETRAINED", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CATALOG_CELERY_EAGER", "1")
# Test sessions of several checkouts share the embedded Redis: cached answers and throttle
# counts of one session are invisible to the others.
os.environ.setdefault("CATALOG_CACHE_PREFIX", f"test-{uuid.uuid4().hex[:12]}")
embedded.bootstrap()
