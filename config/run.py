"""`make run`: everything the catalog needs, in one foreground process.

Migrates, creates the demo user (embedded mode), generates and ingests a demo fleet on
first run, then starts a Celery worker, Celery beat (periodic tasks) and gunicorn on
127.0.0.1:$PORT and keeps them, and the embedded PostgreSQL and Redis, alive: whatever
dies is started again (config/supervisor.py). Ctrl-C stops all of it. A second run finds
everything in place and starts in seconds.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from config.supervisor import Child, Server, Supervisor, say

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DEMO_USER = "demo"
# Scenes of the demo fleet generated on first run (0: none).
DEMO_SCENES = int(os.environ.get("CATALOG_DEMO_SCENES", "40"))


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)


def demo_credentials(data_dir: Path) -> tuple[str, str]:
    from django.contrib.auth import get_user_model

    from api.services import api_token_create

    secret = data_dir / "demo_password"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(12))
        secret.chmod(0o600)
    password = secret.read_text().strip()
    token, _ = api_token_create(username=DEMO_USER)
    user = get_user_model().objects.get(username=DEMO_USER)
    if not user.check_password(password):
        user.set_password(password)
        user.is_staff = True
        user.save()
    return password, token.key


def ensure_demo_fleet(data_dir: Path) -> None:
    from catalog.models import Scene

    if DEMO_SCENES <= 0 or Scene.objects.exists():
        return
    fleet_dir = data_dir / "demo-fleet"
    manifest = fleet_dir / "manifest.jsonl"
    if not manifest.exists():
        say(f"first run: generating a demo fleet of {DEMO_SCENES} scenes in {fleet_dir}")
        manage("demo_fleet", "--scenes", str(DEMO_SCENES), "--out", str(fleet_dir))
    say("ingesting the demo fleet (embedding runs in the background worker)")
    manage("ingest", str(manifest))


def processes(settings, port: str) -> list[Child]:
    bin_dir = Path(sys.executable).parent
    data_dir: Path = settings.DATA_DIR
    # Request metrics of all gunicorn workers, summed by /metrics (config/gunicorn.py).
    web_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics")}
    queues = f"celery,{settings.CATALOG_MAINTENANCE_QUEUE}"
    return [
        Child(
            "celery worker",
            [str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel", "INFO",
             "--concurrency", os.environ.get("CATALOG_WORKER_CONCURRENCY", "1"), "-Q", queues],
        ),
        Child(
            "celery beat",
            [str(bin_dir / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
             "--schedule", str(data_dir / "celerybeat-schedule")],
        ),
        Child(
            "web server",
            [str(bin_dir / "gunicorn"), "-c", "python:config.gunicorn", "config.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
             "--threads", "4", "--timeout", "120", "--access-logfile", "-"],
            env=web_env,
        ),
    ]  # fmt: skip


def embedded_servers(data_dir: Path) -> list[Server]:
    from config import embedded

    return [
        Server(
            "PostgreSQL",
            lambda: embedded.postgres_answers(data_dir),
            lambda: embedded.revive_postgres(data_dir),
        ),
        Server(
            "Redis",
            lambda: embedded.redis_answers(data_dir),
            lambda: embedded.ensure_redis(data_dir),
        ),
    ]


def main() -> int:
    import django

    from config import embedded

    # Before Django reads settings; the children started below inherit what it exports.
    embedded.bootstrap()
    django.setup()
    from django.conf import settings

    port = os.environ.get("PORT", "8000")
    data_dir: Path = settings.DATA_DIR
    say(
        "database: "
        + (f"embedded PostgreSQL under {data_dir / 'pg'}" if settings.EMBEDDED else "DATABASE_URL")
    )
    manage("migrate", "--noinput", "-v", "0")
    if settings.EMBEDDED:
        password, token = demo_credentials(data_dir)
        ensure_demo_fleet(data_dir)
    # Scenes not yet embedded with the configured model (new model, weights that were
    # missing last time, a crash) are queued again; the worker picks them up.
    manage("embed")

    supervisor = Supervisor(
        servers=embedded_servers(data_dir) if settings.EMBEDDED else [],
        children=processes(settings, port),
    )
    url = f"http://127.0.0.1:{port}/"
    say(f"serving {url}  (API {url}api/v1/, docs {url}api/docs/)")
    if settings.EMBEDDED:
        say(f"log in as {DEMO_USER} / {password}")
        say(f"API token: {token}")
        say(f"  curl -H 'Authorization: Token {token}' {url}api/v1/scenes/")
    if settings.CATALOG_CLIP_MODEL == "test-tiny":
        say("CLIP model: test-tiny (untrained; similarity is not semantic)")
    say("Ctrl-C stops everything")
    try:
        supervisor.run()
    finally:
        say("stopping")
        supervisor.stop()
        if settings.EMBEDDED:
            embedded.stop_all(data_dir)
        say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
