"""Loaded as a pytest plugin (`-p tests.testenv`, see pyproject.toml) so that it runs before
pytest-django imports the settings: the tiny untrained model, no network, Celery tasks
inline unless a test starts a real worker, and the embedded servers started (or found
running) when `DATABASE_URL` / `REDIS_URL` leave them to us."""

import os

from config import embedded

os.environ.setdefault("CATALOG_CLIP_MODEL", "test-tiny")
os.environ.setdefault("CATALOG_CLIP_PRETRAINED", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CATALOG_CELERY_EAGER", "1")
embedded.bootstrap()
