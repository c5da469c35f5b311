"""Ingest is background work: on a machine that also serves the web, a request's CPU
must come first (an idle machine ingests as fast). Ingest's processes run at
BACKGROUND_NICENESS, and so does the database server process that writes its batches,
when the database runs on this machine (the embedded server, a single-host install):
parsing is only half of ingest's CPU, PostgreSQL's COPY and upserts are the other.

Niceness alone is not enough on Linux: with autogroups (the kernel's default on
desktop and most server builds) CPU is shared between sessions first and by niceness
only within a session, so a niced process still takes half the CPU from a web server
in another session. A background process that leads its own session (the Celery
worker and an ingest as the supervisor starts them) sets its session's autogroup
niceness too; one started from a terminal leaves the terminal's session alone."""

import logging
import os
from pathlib import Path

from django.db import DatabaseError

logger = logging.getLogger(__name__)

BACKGROUND_NICENESS = 10


AUTOGROUP = Path("/proc/self/autogroup")


def yield_cpu() -> None:
    """This process (and what it forks) BACKGROUND_NICENESS lower (up to 19), and its
    session's autogroup when it leads that session."""
    os.nice(BACKGROUND_NICENESS)
    yield_session_cpu()


def yield_session_cpu() -> bool:
    """This session's autogroup at BACKGROUND_NICENESS, if this process leads the
    session and the kernel has autogroups (True if so)."""
    if os.getsid(0) != os.getpid():
        return False
    try:
        AUTOGROUP.write_text(f"{BACKGROUND_NICENESS}\n")
        return True
    except OSError as exc:  # no autogroups, or not allowed: niceness still applies
        logger.debug("background session left at its priority (%s)", exc)
        return False


def yield_database_cpu(connection) -> bool:
    """The server process of `connection`'s session at BACKGROUND_NICENESS, if it is a
    PostgreSQL process of this machine that this user may renice (True if so). The
    session is the ingest's own: its process ends with it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = int(cursor.fetchone()[0])
        # The same number may be another process here when the server is remote.
        if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
            return False
        current = os.getpriority(os.PRIO_PROCESS, pid)
        if current < BACKGROUND_NICENESS:
            os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICENESS)
        return True
    except (OSError, ValueError, DatabaseError) as exc:
        # Not ours to renice, or gone: ingest works the same, only less politely.
        logger.debug("ingest: database session left at its priority (%s)", exc)
        return False
