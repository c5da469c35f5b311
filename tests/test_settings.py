"""Production mode: `check --deploy` is clean and a missing secret stops the process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://catalog@db.invalid:5432/catalog",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "DJANGO_ALLOWED_HOSTS": "catalog.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


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
