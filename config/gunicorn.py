"""gunicorn settings (`gunicorn -c python:config.gunicorn config.wsgi ...`).

Request metrics are counted in each worker process; prometheus_client's multiprocess
mode sums them from files in PROMETHEUS_MULTIPROC_DIR (api/metrics.py). The folder must
be set before any worker imports prometheus_client and be empty when the server starts
(a restarted server must not add up its predecessor's counts twice), and a worker that
exits has its live values dropped.
"""

import os
import shutil
import tempfile
from pathlib import Path

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
if not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="catalog-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server) -> None:
    folder = Path(_metrics_dir)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
