"""Real `celery worker` processes for the tests marked `worker`.

The worker is a separate process: it reads the test database through DATABASE_URL and takes
tasks from the Redis broker the test process publishes to.
"""

import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from lms.celery import app


def database_url_for_worker(tmp_path: Path) -> str:
    """The test database as a URL another process can open (PostgreSQL; a SQLite file
    otherwise, which the worker sees empty)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"
    return f"sqlite:///{tmp_path / 'worker.sqlite3'}"


def worker_start(
    *, queues: str, name: str, environment: Mapping[str, str], log_path: Path
) -> subprocess.Popen:
    """Start `celery worker` on `queues` (one process, solo pool), logging to `log_path`."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lms",
        "worker",
        "-Q",
        queues,
        "-P",
        "solo",
        "--concurrency",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"{name}-{uuid.uuid4().hex[:8]}@%h",
        "--loglevel",
        "INFO",
    ]
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603 - our own worker command
            command,
            cwd=settings.BASE_DIR,
            env=dict(environment),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def worker_stop(process: subprocess.Popen) -> None:
    process.terminate()  # warm shutdown: finishes the task at hand
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def tasks_published_to(broker_url: str) -> Iterator[None]:
    """The test process publishes tasks to the broker instead of running them itself."""
    previous = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, broker_url
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = previous
