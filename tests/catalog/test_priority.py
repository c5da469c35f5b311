"""Ingest yields the CPU to the web: its processes, and its database session's server
process when that runs on this machine."""

import os
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from catalog.ingest.priority import BACKGROUND_NICENESS, yield_database_cpu

pytestmark = pytest.mark.django_db


def _own_session():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def test_the_database_session_of_an_ingest_runs_at_background_priority():
    with _own_session() as session:
        pid = session.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert os.getpriority(os.PRIO_PROCESS, pid) < BACKGROUND_NICENESS
        assert yield_database_cpu(session) is True
        assert os.getpriority(os.PRIO_PROCESS, pid) == BACKGROUND_NICENESS
        # Other sessions (the web's) keep theirs.
        with _own_session() as other:
            other_pid = other.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert os.getpriority(os.PRIO_PROCESS, other_pid) < BACKGROUND_NICENESS


def test_a_session_that_is_not_a_local_postgres_process_is_left_alone():
    class Remote:
        """A session whose server pid is this test's own process (not postgres)."""

        def cursor(self):
            return _Cursor()

    class _Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql):
            pass

        def fetchone(self):
            return (os.getpid(),)

    before = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert yield_database_cpu(Remote()) is False
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == before


AUTOGROUP_PROBE = (
    "import json; from pathlib import Path; "
    "from catalog.ingest.priority import yield_session_cpu; "
    "done = yield_session_cpu(); "
    "print(json.dumps([done, Path('/proc/self/autogroup').read_text()]))"
)


def _probe(**popen) -> tuple[bool, str]:
    """(whether the probe niced its session, its /proc/self/autogroup text). The text
    is empty for a process in the kernel's default autogroup (one that no session
    leader has left since boot, as in some CI containers)."""
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", AUTOGROUP_PROBE],
        capture_output=True,
        text=True,
        cwd=os.getcwd(),
        **popen,
    )
    assert run.returncode == 0, run.stderr
    done, text = json.loads(run.stdout)
    return done, text


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroups here")
def test_a_background_process_leading_its_session_yields_the_whole_session():
    """Autogroups share CPU between sessions before niceness counts: a worker or ingest
    started in its own session nices the session, one started from another process's
    session (a terminal) leaves that session alone."""
    done, text = _probe(start_new_session=True)
    assert done is True and text.split()[-2:] == ["nice", str(BACKGROUND_NICENESS)]
    ours = Path("/proc/self/autogroup").read_text()
    assert _probe() == (False, ours)
