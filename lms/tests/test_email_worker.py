"""A real Celery worker on Redis delivers allauth's verification email.

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from lms.tests.worker import (
    database_url_for_worker,
    tasks_published_to,
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
        {"email": address, "password1": PASSWORD, "password2": PASSWORD},
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
