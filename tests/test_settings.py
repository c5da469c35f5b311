"""Settings: importing them starts and writes nothing; production mode's `check --deploy`
is clean and a missing secret stops the process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from config import embedded

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://catalog@db.invalid:5432/catalog",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "DJANGO_ALLOWED_HOSTS": "catalog.example.com",
}
# What an entry point's `bootstrap()` exports; a process that skipped it has none of it.
BOOTSTRAPPED = ("DATABASE", "REDIS_URL", "DJANGO_", embedded.POSTGRES_HOST_ENV)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(BOOTSTRAPPED)}
    return subprocess.run(
        args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], **PRODUCTION_ENV, **env)


def processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention `text` (a server started there)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if text in args:
            found.append(args)
    return found


def test_importing_settings_in_embedded_mode_starts_and_writes_nothing(tmp_path):
    # Long enough that the servers' sockets would need a folder under /tmp.
    data_dir = tmp_path / ("embedded-" + "x" * 90)
    data_dir.mkdir()
    socket_dir = embedded.redis_socket(data_dir).parent
    code = "import config.settings as s; print(s.EMBEDDED, s.DATABASES['default']['HOST'])"
    result = run([sys.executable, "-c", code], CATALOG_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", str(data_dir / "pg")]
    assert list(data_dir.iterdir()) == []
    assert not socket_dir.exists()
    assert processes_naming(str(data_dir)) == processes_naming(str(socket_dir)) == []


def test_django_checks_run_in_embedded_mode_with_no_server(tmp_path):
    code = "import django; django.setup(); from django.core.management import call_command; "
    code += "call_command('check')"
    result = run(
        [sys.executable, "-c", code],
        CATALOG_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    assert list(tmp_path.iterdir()) == []
    assert processes_naming(str(tmp_path)) == []


def test_check_deploy_is_clean_in_production_mode():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY=secrets.token_urlsafe(50)
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_mode_refuses_to_start_without_secret_key():
    result = manage("check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_malformed_setting_is_named_at_start():
    result = manage("check", DJANGO_SECRET_KEY="k" * 64, CATALOG_EMBED_HZ="fast")
    assert result.returncode != 0
    assert "CATALOG_EMBED_HZ='fast' is not a valid number" in result.stderr
