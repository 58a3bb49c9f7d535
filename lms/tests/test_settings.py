"""Production settings, checked in a fresh process with a production-like environment.

Settings are read once per process, so each case runs `manage.py` in a subprocess.
"""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

# Variables a developer's shell may carry that would change what production looks like.
_CLEARED = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "DJANGO_SETTINGS_MODULE",
)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _dotenv_sets_secret_key() -> bool:
    dotenv = settings.BASE_DIR / ".env"
    return dotenv.is_file() and any(
        line.strip().startswith("SECRET_KEY=") for line in dotenv.read_text().splitlines()
    )


def test_check_deploy_passes_without_warnings_in_production():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="lms.example.com",
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert "?: (security." not in output


@pytest.mark.skipif(_dotenv_sets_secret_key(), reason="a local .env sets SECRET_KEY")
def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="false", ALLOWED_HOSTS="lms.example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_an_upload_cleanup_age_below_an_hour_is_refused():
    result = _manage("check", LMS_UPLOAD_PENDING_HOURS="0")

    assert result.returncode != 0
    assert "LMS_UPLOAD_PENDING_HOURS must be at least 1." in result.stderr


@pytest.mark.parametrize(
    "secret_key",
    [settings.DEV_SECRET_KEY, "too-short-to-be-a-real-secret"],
    ids=["development-default", "short"],
)
def test_production_refuses_a_weak_secret_key(secret_key):
    result = _manage("check", DEBUG="false", SECRET_KEY=secret_key, ALLOWED_HOSTS="x.example")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_development_defaults_start_with_nothing_set():
    result = _manage("check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
