"""Shared plumbing for benchmarks: a dedicated database on the embedded server, timers."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / ".bench"


def setup_django(database: str) -> None:
    """Point Django at `database` on the embedded server, freshly migrated."""
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CATALOG_EMBEDDED_DB"] = database
    os.environ.setdefault("CATALOG_CLIP_MODEL", "test-tiny")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["CATALOG_CELERY_EAGER"] = "0"
    import django

    from config import embedded

    embedded.bootstrap()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def raw_connection():
    """A psycopg connection of its own to the bench database (for COPY), with pgvector's
    types registered."""
    import psycopg
    from django.db import connection
    from pgvector.psycopg import register_vector

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    conn = psycopg.connect(**params, autocommit=False)
    register_vector(conn)
    return conn


def copy_frame_rows(cur, *, model_pk: int, first_id: int, scene_pks, cameras, times, vectors):
    """COPY (binary) sampled frames and their vectors, ids first_id, first_id + 1, ...;
    one scene pk, camera, time and vector per frame."""
    from pgvector import HalfVector

    rows = list(zip(scene_pks, cameras, times, strict=True))
    with cur.copy(
        "COPY embeddings_frame (id, scene_id, camera, t_s, thumbnail_uri) "
        "FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int8", "varchar", "float8", "text"])
        for i, (scene_pk, camera, t_s) in enumerate(rows):
            copy.write_row((first_id + i, int(scene_pk), camera, float(t_s), ""))
    with cur.copy(
        "COPY embeddings_frameembedding (frame_id, model_id, scene_id, camera, embedding) "
        "FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int8", "int8", "varchar", "halfvec"])
        for i, (scene_pk, camera, _) in enumerate(rows):
            copy.write_row((first_id + i, model_pk, int(scene_pk), camera, HalfVector(vectors[i])))


def reset_tables(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(samples_s: list[float]) -> tuple[float, float]:
    ms = [s * 1000 for s in samples_s]
    return statistics.median(ms), percentile(ms, 95)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
