"""Keeps `make run`'s processes alive: what dies is started again, with a backoff.

Two kinds of things are watched, once a second:
- `Child`: a process this one started (Celery worker, Celery beat, gunicorn), in a process
  group of its own. When it exits, whatever is left of its group (pool processes, gunicorn
  workers) is killed and it is started again.
- `Server`: an embedded server that daemonizes itself (PostgreSQL, Redis): probed every
  `every_s`, revived when the probe fails.

A restart waits 1 s, then twice as long after each failure in a row (at most 30 s); a
process that ran for a minute counts as healthy again. Every death and restart is logged
with what died and how.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
TICK_S = 0.5


def say(message: str) -> None:
    print(f"[catalog {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _backoff(failures: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, failures - 1))


def _how(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        # Own process group: Ctrl-C reaches the supervisor first, which stops children in
        # order; and a dead child's leftovers can be killed as one group.
        self.process = subprocess.Popen(self.args, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        say(f"{self.name} started (pid {self.process.pid})")

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def check(self, now: float) -> None:
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at = None
                self.start()
            return
        if self.process is None or self.process.poll() is None:
            return
        code = self.process.returncode
        self.kill_group()  # its pool processes or web workers, if any outlived it
        ran_s = now - self.started_at
        self.failures = 1 if ran_s >= STABLE_AFTER_S else self.failures + 1
        delay = _backoff(self.failures)
        say(
            f"{self.name} (pid {self.process.pid}) {_how(code)} after {ran_s:.0f} s; "
            f"restarting in {delay:.0f} s"
        )
        self.restart_at = now + delay

    def stop(self, timeout_s: float) -> None:
        if self.process is None or self.process.poll() is not None:
            self.kill_group()
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop in {timeout_s:.0f} s; killing it")
        self.kill_group()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


@dataclass
class Server:
    name: str
    answers: Callable[[], bool]
    revive: Callable[[], None]
    every_s: float = 2.0
    failures: int = 0
    next_check: float = 0.0

    def check(self, now: float) -> None:
        if now < self.next_check:
            return
        self.next_check = now + self.every_s
        if self.answers():
            self.failures = 0
            return
        self.failures += 1
        say(f"{self.name} is not answering; starting it again")
        try:
            self.revive()
        except Exception as exc:  # logged and retried with a backoff: keep supervising
            delay = _backoff(self.failures)
            say(f"{self.name} did not start ({exc}); trying again in {delay:.0f} s")
            self.next_check = now + delay
        else:
            say(f"{self.name} restarted")


@dataclass
class Supervisor:
    servers: list[Server] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def run(self) -> None:
        """Start the children and keep everything alive until SIGINT or SIGTERM."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        for child in self.children:
            child.start()
        while not self.stopping:
            now = time.monotonic()
            for server in self.servers:
                server.check(now)
            for child in self.children:
                child.check(now)
            time.sleep(TICK_S)

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the children, last started first (the web before the workers)."""
        for child in reversed(self.children):
            child.stop(timeout_s)
