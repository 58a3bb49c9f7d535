"""The broker's delivery guarantees are settings, read from the environment with defaults.

Settings are read once per process, so each case starts a fresh Python with its environment
and prints what the Celery app ended up with.
"""

import json
import os
import subprocess
import sys

from django.conf import settings

_PRINT_CELERY = """
import json, django
django.setup()
from django.conf import settings
from lms.celery import app
from lms.tasks import webhook_event_process
print(json.dumps({
    "acks_late": app.conf.task_acks_late,
    "reject_on_worker_lost": app.conf.task_reject_on_worker_lost,
    "prefetch_multiplier": app.conf.worker_prefetch_multiplier,
    "transport_options": app.conf.broker_transport_options,
    "countdown_max": settings.LMS_TASK_COUNTDOWN_MAX,
    "webhook_backoff_max": webhook_event_process.retry_backoff_max,
    "email_backoff_max": settings.EMAIL_DELIVERY_RETRY_BACKOFF_MAX,
    "claim_timeout": settings.LMS_EMAIL_CLAIM_TIMEOUT,
    "beat": {name: entry["schedule"] for name, entry in app.conf.beat_schedule.items()},
}))
"""
_ENV_PREFIXES = ("CELERY_", "LMS_EMAIL_", "LMS_WEBHOOK_", "DJANGO_SETTINGS_MODULE")


def _celery(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    environment.update(env, DJANGO_SETTINGS_MODULE="lms.settings")
    return subprocess.run(  # noqa: S603 - our own settings, fixed code
        [sys.executable, "-c", _PRINT_CELERY],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _config(**env: str) -> dict:
    result = _celery(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_messages_are_acked_late_given_back_when_a_worker_dies_and_redelivered_within_minutes():
    config = _config()

    assert (config["acks_late"], config["reject_on_worker_lost"]) == (True, True)
    assert config["prefetch_multiplier"] == 1
    assert config["transport_options"]["visibility_timeout"] == 300  # not kombu's hour
    assert config["transport_options"]["unacked_restore_interval"] == 10
    assert config["transport_options"]["unacked_restore_throttle"] == 1
    # No countdown reaches the visibility timeout: a message held that long is redelivered.
    assert config["countdown_max"] == 150
    assert config["webhook_backoff_max"] == 150
    assert config["email_backoff_max"] > 300  # longer email backoff waits in the outbox
    assert config["claim_timeout"] == 120
    assert config["beat"]["webhook-events-recover"] == 30.0
    assert config["beat"]["email-outbox-sweep"] == 60.0


def test_the_visibility_timeout_and_recovery_come_from_the_environment():
    config = _config(
        CELERY_VISIBILITY_TIMEOUT="900",
        CELERY_UNACKED_RESTORE_INTERVAL="5",
        LMS_EMAIL_CLAIM_TIMEOUT="300",
        LMS_WEBHOOK_RECOVER_SECONDS="15",
    )

    assert config["transport_options"]["visibility_timeout"] == 900
    assert config["transport_options"]["unacked_restore_interval"] == 5
    assert (config["countdown_max"], config["webhook_backoff_max"]) == (450, 450)
    assert config["claim_timeout"] == 300
    assert config["beat"]["webhook-events-recover"] == 15.0


def test_an_email_claim_timeout_beyond_the_visibility_timeout_is_refused_at_start():
    result = _celery(CELERY_VISIBILITY_TIMEOUT="60", LMS_EMAIL_CLAIM_TIMEOUT="120")

    assert result.returncode != 0
    assert "LMS_EMAIL_CLAIM_TIMEOUT must be below CELERY_VISIBILITY_TIMEOUT." in result.stderr
