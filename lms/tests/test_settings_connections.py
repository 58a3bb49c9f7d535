"""Database connections and sessions: what production keeps between requests.

Settings are read once per process, so the environment cases run `manage.py shell` in a
subprocess; the request cases count the queries of a signed-in page in this process.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User

_CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "SESSION_STORE",
    "DB_CONN_MAX_AGE",
    "DB_POOL",
    "DB_POOL_MIN_SIZE",
    "DB_POOL_MAX_SIZE",
    "DB_POOL_TIMEOUT",
    "DISABLE_SERVER_SIDE_CURSORS",
    "DJANGO_SETTINGS_MODULE",
)
_PRINT = (
    "import json; from django.conf import settings; from django.db import connection; "
    "db = settings.DATABASES['default']; "
    "connection.ensure_connection() if db.get('OPTIONS', {}).get('pool') else None; "
    "print(json.dumps({'engine': db['ENGINE'], 'max_age': db['CONN_MAX_AGE'], "
    "'health': db['CONN_HEALTH_CHECKS'], 'pool': db.get('OPTIONS', {}).get('pool'), "
    "'no_server_cursors': db['DISABLE_SERVER_SIDE_CURSORS'], "
    "'pool_open': getattr(connection, 'pool', None) is not None, "
    "'session': settings.SESSION_ENGINE}))"
)
POSTGRES = "postgres://postgres@127.0.0.1:5432/lms_unused"
REDIS = "redis://127.0.0.1:6379/15"
DB_SESSIONS = "django.contrib.sessions.backends.db"
CACHED_DB_SESSIONS = "django.contrib.sessions.backends.cached_db"


def _settings_with(**env: str) -> dict:
    environment = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    environment.update(env)
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", _PRINT],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _refusal_with(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    return result.stderr


def test_postgresql_connections_are_kept_and_health_checked_by_default():
    found = _settings_with(DATABASE_URL=POSTGRES)

    assert (found["max_age"], found["health"], found["pool"]) == (60, True, None)
    assert found["no_server_cursors"] is False


def test_sqlite_for_make_run_opens_its_file_per_request():
    found = _settings_with()

    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["max_age"] == 0


def test_behind_pgbouncer_connections_close_and_server_side_cursors_are_off():
    found = _settings_with(
        DATABASE_URL=POSTGRES, DB_CONN_MAX_AGE="0", DISABLE_SERVER_SIDE_CURSORS="true"
    )

    assert (found["max_age"], found["pool"], found["no_server_cursors"]) == (0, None, True)


@pytest.mark.postgres
def test_the_pool_replaces_persistent_connections_and_opens():
    # The server's own database always exists; the pool opens on the first connection.
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs DATABASE_URL=postgres://...")
    server = url.rsplit("/", 1)[0]
    found = _settings_with(
        DATABASE_URL=f"{server}/postgres",
        DB_POOL="true",
        DB_POOL_MIN_SIZE="1",
        DB_POOL_MAX_SIZE="4",
    )

    assert found["max_age"] == 0
    assert found["pool"] == {"min_size": 1, "max_size": 4, "timeout": 10.0}
    assert found["pool_open"] is True


def test_the_pool_is_refused_without_postgresql():
    stderr = _refusal_with(DB_POOL="true")

    assert "DB_POOL=true needs PostgreSQL" in stderr


@pytest.mark.parametrize(
    ("env", "engine"),
    [
        ({}, DB_SESSIONS),
        ({"REDIS_URL": REDIS}, CACHED_DB_SESSIONS),
        ({"REDIS_URL": REDIS, "SESSION_STORE": "db"}, DB_SESSIONS),
        ({"REDIS_URL": REDIS, "SESSION_STORE": "cache"}, "lms.sessions"),
    ],
    ids=["no-redis", "redis", "redis-db-chosen", "redis-cache-only"],
)
def test_sessions_are_cached_when_redis_is_there(env, engine):
    assert _settings_with(**env)["session"] == engine


def test_an_unknown_session_store_is_refused():
    stderr = _refusal_with(SESSION_STORE="redis")

    assert "SESSION_STORE must be one of db, cache, cached_db" in stderr


# --- A signed-in request with its session in the cache ------------------------------------


def _session_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/learn/")
    assert response.status_code == 200
    return [query["sql"] for query in captured if "django_session" in query["sql"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("engine", "session_queries"),
    [(CACHED_DB_SESSIONS, 0), (DB_SESSIONS, 1)],
    ids=["cached_db", "db"],
)
def test_a_signed_in_page_reads_its_session_from_the_cache(
    client, settings, engine, session_queries
):
    settings.SESSION_ENGINE = engine
    user = User.objects.create_user(email="learner@example.com", password="x" * 12)
    client.force_login(user)
    client.get("/learn/")  # the first page records "last seen" (allauth usersessions)

    # Later pages neither read nor write the session row: the cache answers.
    assert len(_session_queries(client)) == session_queries
    assert len(_session_queries(client)) == session_queries


def _writes(captured) -> list[str]:
    return [
        query["sql"].split(" SET ")[0].split(" (")[0]
        for query in captured
        if query["sql"].startswith(("INSERT", "UPDATE"))
    ]


@pytest.mark.django_db
def test_last_seen_is_written_once_per_interval_not_per_request(client, settings):
    settings.SESSION_ENGINE = CACHED_DB_SESSIONS
    user = User.objects.create_user(email="learner@example.com", password="x" * 12)
    client.force_login(user)  # signing in records the session and its "last seen"

    with CaptureQueriesContext(connection) as within_the_interval:
        for _ in range(3):
            client.get("/learn/")
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 0
    with CaptureQueriesContext(connection) as after_the_interval:
        client.get("/learn/")

    assert _writes(within_the_interval) == []
    assert _writes(after_the_interval) == [
        'UPDATE "usersessions_usersession"',
        'UPDATE "django_session"',
    ]
