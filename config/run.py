"""`make run`: everything the catalog needs, in one foreground process.

Migrates, creates the demo user (embedded mode), generates and ingests a demo fleet on
first run, starts a Celery worker and gunicorn on 127.0.0.1:$PORT, and on Ctrl-C stops
them and the embedded servers. A second run finds everything in place and starts in
seconds.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DEMO_USER = "demo"
DEMO_SCENES = int(os.environ.get("CATALOG_DEMO_SCENES", "40"))


def say(message: str) -> None:
    print(f"[catalog] {message}", flush=True)


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

    if Scene.objects.exists():
        return
    fleet_dir = data_dir / "demo-fleet"
    manifest = fleet_dir / "manifest.jsonl"
    if not manifest.exists():
        say(f"first run: generating a demo fleet of {DEMO_SCENES} scenes in {fleet_dir}")
        manage("demo_fleet", "--scenes", str(DEMO_SCENES), "--out", str(fleet_dir))
    say("ingesting the demo fleet (embedding runs in the background worker)")
    manage("ingest", str(manifest))


def start(name: str, args: list[str]) -> subprocess.Popen:
    say(f"starting {name}")
    # Own process group: Ctrl-C reaches us first, and we stop children in order.
    return subprocess.Popen(args, start_new_session=True)


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

    bin_dir = Path(sys.executable).parent
    children = [
        start(
            "celery worker",
            [str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel", "INFO",
             "--concurrency", os.environ.get("CATALOG_WORKER_CONCURRENCY", "1")],
        ),
        start(
            "web server",
            [str(bin_dir / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", "4",
             "--timeout", "120", "--access-logfile", "-"],
        ),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    say(f"serving {url}  (API {url}api/v1/, docs {url}api/docs/)")
    if settings.EMBEDDED:
        say(f"log in as {DEMO_USER} / {password}")
        say(f"API token: {token}")
        say(f"  curl -H 'Authorization: Token {token}' {url}api/v1/scenes/")
    if settings.CATALOG_CLIP_MODEL == "test-tiny":
        say("CLIP model: test-tiny (untrained; similarity is not semantic)")
    say("Ctrl-C stops everything")

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                say(f"{child.args[0]} exited with {child.returncode}; stopping")
                stopping, exit_code = True, 1
        time.sleep(0.5)

    say("stopping")
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    if settings.EMBEDDED:
        embedded.stop_all(data_dir)
    say("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
