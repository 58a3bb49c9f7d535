"""Nothing is lost while the worker is down: a Mux webhook is stored and acknowledged, waits
in the broker, and a real `celery worker` started later processes it.

The worker is a separate process reading the test database, so this needs PostgreSQL (an
in-memory SQLite database is invisible to other processes) as well as Redis.
"""

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from lms.models import WebhookEvent
from lms.tests.worker import (
    database_url_for_worker,
    tasks_published_to,
    worker_start,
    worker_stop,
)
from lms.webhooks import WEBHOOK_QUEUE
from media.models import Video
from media.tests.test_mux_webhooks import SECRET, T0, URL, asset, mux_event, signature

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 30


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
            DATABASE_URL=database_url_for_worker(tmp_path),
            CELERY_BROKER_URL=broker_url,
            CELERY_TASK_ALWAYS_EAGER="false",
        )
        processes.append(
            worker_start(
                queues=WEBHOOK_QUEUE,
                name="webhooks-test",
                environment=environment,
                log_path=log_path,
            )
        )
        return log_path

    with tasks_published_to(broker_url):
        try:
            yield start
        finally:
            for process in processes:
                worker_stop(process)


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
