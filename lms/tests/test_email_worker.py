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
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from django.urls import reverse

from lms.celery import app

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


def _database_url_for_worker(tmp_path: Path) -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"
    return f"sqlite:///{tmp_path / 'worker.sqlite3'}"


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
        DATABASE_URL=_database_url_for_worker(tmp_path),
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_URL=f"filemail:///{mail_dir}",  # four slashes: an absolute path
        ANYMAIL_PROVIDER="",  # wins over a developer's .env, which could name one
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lms",
        "worker",
        "-Q",
        "email,default",
        "-P",
        "solo",
        "--concurrency",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"email-test-{uuid.uuid4().hex[:8]}@%h",
        "--loglevel",
        "INFO",
    ]
    previous = app.conf.task_always_eager, app.conf.broker_url
    # The test process publishes to the same broker instead of running tasks itself.
    app.conf.task_always_eager, app.conf.broker_url = False, broker_url
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own worker command
            command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield Worker(process=process, mail_dir=mail_dir, log_path=log_path)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = previous
        process.terminate()  # warm shutdown: finishes the task at hand
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


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
