"""Nothing is lost while the worker is down: a Mux webhook is stored and acknowledged, waits
in the broker, and a real `celery worker` started later processes it.

The worker is a separate process reading the test database, so this needs PostgreSQL (an
in-memory SQLite database is invisible to other processes) as well as Redis.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from lms.celery import app
from lms.models import WebhookEvent
from lms.webhooks import WEBHOOK_QUEUE
from media.models import Video
from media.tests.test_mux_webhooks import SECRET, T0, URL, asset, mux_event, signature

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 30


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[], Path]]:
    """Publish tasks to Redis instead of running them; `start_worker()` starts a worker
    process consuming the webhooks queue and returns its log file."""
    broker_url = os.environ["REDIS_URL"]  # the `worker` marker skips when it is unset
    redis.Redis.from_url(broker_url).delete(WEBHOOK_QUEUE)  # leftovers of earlier runs
    processes: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start() -> Path:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        environment.update(
            DJANGO_SETTINGS_MODULE="lms.settings",
            DATABASE_URL=_database_url(),
            CELERY_BROKER_URL=broker_url,
            CELERY_TASK_ALWAYS_EAGER="false",
        )
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lms",
            "worker",
            "-Q",
            WEBHOOK_QUEUE,
            "-P",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"webhooks-test-{uuid.uuid4().hex[:8]}@%h",
            "--loglevel",
            "INFO",
        ]
        with log_path.open("wb") as log:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own worker command
                    command,
                    cwd=settings.BASE_DIR,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        return log_path

    previous = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, broker_url
    try:
        yield start
    finally:
        app.conf.task_always_eager, app.conf.broker_url = previous
        for process in processes:
            process.terminate()  # warm shutdown: finishes the task at hand
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def test_a_webhook_that_arrives_while_the_worker_is_down_is_processed_when_it_returns(
    client, settings, start_worker
):
    settings.MUX_WEBHOOK_SECRETS = [SECRET]
    video = Video.objects.create(title="Salsa basics", mux_upload_id="upload-1")
    body = json.dumps(mux_event("video.asset.ready", asset(video, status="ready"), at=T0))

    response = client.post(
        URL, body, content_type="application/json", HTTP_MUX_SIGNATURE=signature(body.encode())
    )

    assert response.status_code == 200
    time.sleep(1)  # no worker: nothing may process it
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("received", 0)
    video.refresh_from_db()
    assert video.status == "waiting"

    log_path = start_worker()

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        event.refresh_from_db()
        if event.status != WebhookEvent.Status.RECEIVED:
            break
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")[-4000:]
    assert (event.status, event.attempts) == ("processed", 1), log
    video.refresh_from_db()
    assert (video.status, video.playback_id) == ("ready", "pb-asset-1")
    assert "succeeded" in log
