"""`make run` heals: a real `python -m config.run` on a scratch data folder and a free port;
its Celery worker, Redis and gunicorn are killed with SIGKILL in turn, and each comes back
(the health endpoint answers ok again, beat's periodic task runs on the new worker); then
Ctrl-C stops everything."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from config import embedded

ROOT = Path(__file__).resolve().parents[2]
# What the test session's own bootstrap exported, and test-only switches: the supervised
# processes must find none of it.
INHERITED = ("DATABASE_URL", "REDIS_URL", "DJANGO_", embedded.POSTGRES_HOST_ENV,
             "CATALOG_CELERY_EAGER", "CATALOG_EMBEDDED_DB", "CATALOG_TEST_DB_SUFFIX",
             "PROMETHEUS_MULTIPROC_DIR", "CATALOG_DATA_DIR")  # fmt: skip
STARTUP_S = 150
RECOVERY_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Run:
    def __init__(self, data_dir: Path, log_path: Path):
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)}
        env.update(
            CATALOG_DATA_DIR=str(data_dir),
            PORT=str(self.port),
            CATALOG_DEMO_SCENES="0",
            CATALOG_CLIP_MODEL="test-tiny",
            HF_HUB_OFFLINE="1",
            WEB_CONCURRENCY="1",
            CATALOG_EMBED_REAP_INTERVAL_S="2",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.run"],
            cwd=ROOT,
            env=env,
            stdout=open(log_path, "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, condition, what: str, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"make run exited ({self.process.returncode})\n{self.log()[-6000:]}")
            result = condition()
            if result:
                return result
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what}\n{self.log()[-6000:]}")

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/api/v1/health/"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return b'"status":"ok"' in response.read()
        except (OSError, urllib.error.URLError):
            return False

    def pid(self, name: str) -> int:
        """The pid of the latest start of `name`, from the supervisor's log."""
        return int(re.findall(rf"{name} started \(pid (\d+)\)", self.log())[-1])

    def restarted(self, name: str, old_pid: int) -> bool:
        return self.pid(name) != old_pid

    def periodic_runs(self) -> int:
        return len(re.findall(r"Task embeddings\.reap_stuck_scenes\[\S+\] succeeded", self.log()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        embedded.stop_all(self.data_dir)  # whatever a failed run left


@pytest.fixture
def run(tmp_path):
    started = Run(tmp_path / "data", tmp_path / "run.log")
    yield started
    started.stop()


def test_make_run_brings_back_what_is_killed_and_stops_on_ctrl_c(run):
    run.wait(run.healthy, "the first healthy answer", STARTUP_S)
    runs = run.wait(run.periodic_runs, "a periodic task run by beat", RECOVERY_S)

    worker = run.pid("celery worker")
    os.kill(worker, signal.SIGKILL)  # the main process; the supervisor reaps its pool
    run.wait(lambda: run.restarted("celery worker", worker), "a new worker", RECOVERY_S)
    run.wait(lambda: run.periodic_runs() > runs, "beat's task on the new worker", RECOVERY_S)

    os.kill(int((run.data_dir / "redis" / "redis.pid").read_text()), signal.SIGKILL)
    run.wait(lambda: "Redis restarted" in run.log(), "Redis restarted", RECOVERY_S)
    run.wait(run.healthy, "healthy with the new Redis", RECOVERY_S)

    web = run.pid("web server")
    os.kill(web, signal.SIGKILL)  # gunicorn's master
    run.wait(lambda: run.restarted("web server", web), "a new gunicorn", RECOVERY_S)
    run.wait(run.healthy, "healthy with the new gunicorn", RECOVERY_S)

    log = run.log()
    assert f"celery worker (pid {worker}) killed by SIGKILL" in log
    assert f"web server (pid {web}) killed by SIGKILL" in log
    assert "Redis is not answering" in log

    # Ctrl-C then stops all of it, the embedded servers included (one test: starting a
    # fresh catalog is most of the minute this takes).
    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=60) == 0
    assert not run.healthy()
    assert not embedded.redis_answers(run.data_dir)
    assert not embedded.postgres_answers(run.data_dir)
