"""Shared fixtures, and the rule for tests that need a real service.

A test marked `postgres`, `redis`, `worker` or `browser` skips when its service is missing,
except with LMS_REQUIRE_SERVICES=1 (CI), where a missing service fails it.
"""

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from lms.tests.caches import cache_clear

# The real ASGI server fixture `asgi_server` (lms/tests/asgi_server.py says how to use it).
pytest_plugins = ["lms.tests.asgi_server"]

REQUIRE_SERVICES = os.environ.get("LMS_REQUIRE_SERVICES") == "1"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    return next(filter(None, (shutil.which(name) for name in CHROMIUM_CANDIDATES)), None)


def _redis_reachable() -> bool:
    url = os.environ.get("REDIS_URL")
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _missing_service(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "PostgreSQL is not configured (set DATABASE_URL=postgres://...)"
    if marker in ("redis", "worker") and not _redis_reachable():
        return "Redis is not reachable (set REDIS_URL=redis://...)"
    if marker == "browser" and chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    for marker in ("postgres", "redis", "worker", "browser"):
        if request.node.get_closest_marker(marker) is None:
            continue
        reason = _missing_service(marker)
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            pytest.fail(f"LMS_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    """Parallel workers share one Redis: each gets its own cache key prefix (inherited by
    the servers and Celery workers tests start), so one worker's cached pages, versions and
    counters are never another's, and clearing the cache between tests clears its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        caches = settings.CACHES["default"]
        prefix = f"{caches.get('KEY_PREFIX') or 'lms'}-{worker}"
        caches["KEY_PREFIX"] = prefix
        os.environ["CACHE_KEY_PREFIX"] = prefix


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path: Path) -> None:
    """Fast hashing, files in a temporary folder, and a clean cache for every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Database sessions whether or not the run has Redis (which makes "cached_db" the
    # default), so query budgets count the same everywhere; session tests choose their own.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    cache_clear()


@pytest.fixture(autouse=True)
def _llm_not_configured(settings) -> None:
    """No test, of any app, reaches a real LLM provider, whatever a developer's .env says:
    unconfigured unless a test asks for `fake_llm` (assistant/tests/conftest.py)."""
    settings.LLM_BASE_URL = ""
    settings.LLM_API_KEY = ""
    settings.LLM_MODEL = ""
    settings.LLM_MONTHLY_BUDGET_USD = Decimal("0")
    settings.LLM_PRICE_INPUT_PER_MILLION = Decimal("0")
    settings.LLM_PRICE_OUTPUT_PER_MILLION = Decimal("0")


# --- Celery: tasks run in-process in tests, except with a real worker ---------------------
@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest):
    """Run tasks eagerly even when REDIS_URL is set (CI), which makes settings non-eager.

    Tests then see a task's effects (e.g. `mail.outbox`) once on-commit callbacks run.
    Tests marked `worker` keep the configured broker: they start a real worker.
    """
    from lms.celery import app

    if request.node.get_closest_marker("worker") is not None:
        yield
        return
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch):
    """Debian's headless Chromium driven by Playwright (marker `browser` on the test)."""
    from playwright.sync_api import sync_playwright

    from lms.tests.browser import CHROMIUM_ARGS

    # Playwright's sync API runs an asyncio loop in this thread; Django would otherwise refuse
    # the ORM calls the live server and the test make alongside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


__all__ = ["chromium_path", "settings"]
