"""Real `celery worker` processes for the tests marked `worker`.

The worker is a separate process: it reads the test database through DATABASE_URL and takes
tasks from the Redis broker the test process publishes to.
"""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
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
    *,
    queues: str,
    name: str,
    environment: Mapping[str, str],
    log_path: Path,
    extra_args: Sequence[str] = (),
) -> subprocess.Popen:
    """Start `celery worker` on `queues` (one process, solo pool), logging to `log_path`.

    The worker leads a process group of its own (with anything it starts, e.g. an embedded
    beat from `extra_args=["-B", ...]`), which `worker_kill` kills whole. Logs append, so a
    worker started after a killed one adds to the same file."""
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
        *extra_args,
    ]
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - our own worker command
            command,
            cwd=settings.BASE_DIR,
            env=dict(environment),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def worker_kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group, as the OOM killer or a lost machine would:
    no warm shutdown, no message given back to the broker."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def worker_stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # warm shutdown: finishes the task at hand
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def tasks_published_to(broker_url: str) -> Iterator[None]:
    """The test process publishes tasks to the broker instead of running them itself.

    The app's connection pool is dropped on the way in and out: it keeps the broker it was
    made for, which would win over the new `broker_url`."""
    previous = app.conf.task_always_eager, app.conf.broker_url
    _pool_drop()
    app.conf.task_always_eager, app.conf.broker_url = False, broker_url
    try:
        yield
    finally:
        _pool_drop()
        app.conf.task_always_eager, app.conf.broker_url = previous


def _pool_drop() -> None:
    """Forget the app's broker connection pool and producers, as Celery does after a fork (kombu
    keeps them, per broker URL, for the next time the same broker is used)."""
    app._pool = None
    app.amqp._producer_pool = None
