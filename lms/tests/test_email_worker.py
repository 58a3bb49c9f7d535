"""Real Celery workers on Redis deliver email: allauth's verification email, and a burst of
50 during which a worker is SIGKILLed mid-send, with nothing lost or doubled.

The worker is a separate `celery -A lms worker` process, as in production: the test
process signs up through the test client, which publishes the email task to Redis after
commit; the worker sends it with Django's file-based backend into a folder the test reads.
The worker sees the test database (PostgreSQL) through DATABASE_URL; the email task itself
reads no rows, so on SQLite (in memory, invisible to other processes) the worker gets an
empty throwaway database file instead.
"""

import email
import email.policy
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from allauth.account.models import EmailAddress
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse

from lms.email import EMAIL_QUEUE, email_queue
from lms.models import OutboundEmail
from lms.tests.smtp_sink import SmtpSink
from lms.tests.worker import (
    database_url_for_worker,
    tasks_published_to,
    worker_kill,
    worker_start,
    worker_stop,
)

pytestmark = pytest.mark.worker

PASSWORD = "correct-horse-battery-staple-9"
WAIT_SECONDS = 30


@dataclass
class Worker:
    process: subprocess.Popen
    mail_dir: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_for_email_to(self, address: str) -> email.message.EmailMessage:
        """The first email to `address` the worker writes, waiting at most WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for path in sorted(self.mail_dir.iterdir()):
                # The file backend writes each message followed by a line of 79 dashes.
                for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                    message = email.message_from_bytes(raw, policy=email.policy.default)
                    if message["To"] == address:
                        return message
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.2)
        pytest.fail(f"no email to {address} within {WAIT_SECONDS} s; worker log:\n{self.log()}")


@pytest.fixture
def email_worker(transactional_db, tmp_path: Path) -> Iterator[Worker]:
    """A `celery worker` process consuming the email and default queues on REDIS_URL."""
    broker_url = os.environ["REDIS_URL"]  # the `worker` marker skips when it is unset
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    log_path = tmp_path / "worker.log"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANYMAIL_", "EMAIL_", "CELERY_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="lms.settings",
        DATABASE_URL=database_url_for_worker(tmp_path),
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_URL=f"filemail:///{mail_dir}",  # four slashes: an absolute path
        ANYMAIL_PROVIDER="",  # wins over a developer's .env, which could name one
    )
    with tasks_published_to(broker_url):
        process = worker_start(
            queues="email,default", name="email-test", environment=environment, log_path=log_path
        )
        try:
            yield Worker(process=process, mail_dir=mail_dir, log_path=log_path)
        finally:
            worker_stop(process)


def test_a_real_worker_sends_the_verification_email_and_its_code_verifies_the_address(
    client, email_worker
):
    address = f"worker-{uuid.uuid4().hex[:8]}@example.com"

    response = client.post(
        reverse("account_signup"),
        {"email": address, "name": "Wor Ker", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302

    message = email_worker.wait_for_email_to(address)
    code = client.session["account_email_verification_code"]["code"]
    assert re.fullmatch(r"[A-Z0-9]{6}", code)
    assert message["Subject"] == "[LMS School] Please Confirm Your Email Address"
    assert code in message.get_body(preferencelist=("plain",)).get_content()
    assert code in message.get_body(preferencelist=("html",)).get_content()
    assert "succeeded" in email_worker.log()

    response = client.post(reverse("account_email_verification_sent"), {"code": code})

    assert response.status_code == 302
    assert EmailAddress.objects.get(email=address).verified is True


# --- A worker SIGKILLed mid-send during a burst ---------------------------------------------
BURST = 50
HELD_SUBJECT = "Burst message 20"
# Small on purpose, so the test is quick (production: 300 s, 10 s and 120 s): the broker puts
# the dead worker's message back VISIBILITY_TIMEOUT seconds after delivering it, and the
# outbox lets the redelivered task take over a claim older than CLAIM_TIMEOUT.
VISIBILITY_TIMEOUT = 6
CLAIM_TIMEOUT = 3
# The held message must arrive within this many seconds of the worker's death: the
# visibility timeout, a restore scan, and a worker's start.
HELD_BOUND_SECONDS = 30


def _burst_environment(tmp_path: Path, broker_url: str, smtp_port: int) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANYMAIL_", "EMAIL_", "CELERY_", "LMS_EMAIL_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="lms.settings",
        DATABASE_URL=database_url_for_worker(tmp_path),
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        LMS_EMAIL_CLAIM_TIMEOUT=str(CLAIM_TIMEOUT),
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        ANYMAIL_PROVIDER="",
    )
    return environment


def _broker_clean(broker_url: str) -> None:
    """Leftovers of earlier runs in this Redis database: queued and unacked messages."""
    redis.Redis.from_url(broker_url).delete(EMAIL_QUEUE, "unacked", "unacked_index")


def _queue_burst() -> None:
    with transaction.atomic():  # one commit, then 50 publishes: a burst
        for number in range(1, BURST + 1):
            message = EmailMultiAlternatives(
                f"Burst message {number}", f"Message {number}", to=[f"l{number}@example.com"]
            )
            message.attach_alternative(f"<p>Message {number}</p>", "text/html")
            email_queue(message=message)


def _wait_until_all_sent(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if OutboundEmail.objects.filter(status="sent").count() == BURST:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
def test_a_worker_sigkilled_mid_send_in_a_burst_loses_no_email_and_doubles_none(
    transactional_db, tmp_path: Path
):
    broker_url = os.environ["REDIS_URL"]
    _broker_clean(broker_url)
    log_path = tmp_path / "workers.log"
    workers: list[subprocess.Popen] = []
    with SmtpSink() as sink, tasks_published_to(broker_url):
        environment = _burst_environment(tmp_path, broker_url, sink.port)
        sink.hold(HELD_SUBJECT)
        try:
            workers.append(
                worker_start(
                    queues=EMAIL_QUEUE, name="burst-1", environment=environment, log_path=log_path
                )
            )
            _queue_burst()
            assert sink.held.wait(60), log_path.read_text(errors="replace")[-4000:]
            worker_kill(workers[0])
            killed_at = time.monotonic()
            workers.append(
                worker_start(
                    queues=EMAIL_QUEUE, name="burst-2", environment=environment, log_path=log_path
                )
            )
            all_sent = _wait_until_all_sent(HELD_BOUND_SECONDS + 30)
        finally:
            for worker in workers:
                worker_stop(worker)
            _broker_clean(broker_url)
        delivered = sink.snapshot()

    log = log_path.read_text(errors="replace")[-6000:]
    assert all_sent, log
    rows = list(OutboundEmail.objects.all())
    assert Counter(d.message_id for d in delivered) == Counter({r.message_id: 1 for r in rows})
    assert len(delivered) == BURST
    assert {(r.status, r.last_error) for r in rows} == {("sent", "")}
    held = next(d for d in delivered if d.subject == HELD_SUBJECT)
    assert held.at - killed_at < HELD_BOUND_SECONDS, log
    held_row = next(r for r in rows if r.subject == HELD_SUBJECT)
    assert held_row.attempts == 2  # the attempt lost with the worker, then the one that sent
    assert held.to == ["l20@example.com"]
