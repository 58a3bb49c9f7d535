"""Email: every message (allauth's too) is rendered in the request, in the shared layout with
HTML and text parts, and delivered by the Celery task `lms.tasks.email_deliver`, which
retries transient failures with backoff and logs the ones it gives up on, leaving their
outbox rows failed (the request that queued them never sees an error).

Tasks run eagerly here (see conftest.py); `test_email_worker.py` runs a real worker, and
`test_email_outbox.py` covers the outbox itself. Mail
servers and providers are faked at their boundary: a failing email backend, or `responses`
answering for the provider's HTTP API.
"""

import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from smtplib import SMTPDataError, SMTPRecipientsRefused, SMTPServerDisconnected
from urllib.parse import parse_qs

import pytest
import responses
from allauth.account.adapter import get_adapter
from allauth.core import context as allauth_context
from celery.signals import task_success
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from lms.email import email_queue, email_send_template
from lms.models import OutboundEmail
from lms.tests.email_backends import FlakyEmailBackend

PASSWORD = "correct-horse-battery-staple-9"
ALLAUTH_TEMPLATES = Path(__import__("allauth").__file__).parent / "templates"
LOGGER = "lms.tasks"


def _allauth_email_prefixes() -> list[str]:
    """Every email allauth can send, from its own templates (so new ones are caught)."""
    return sorted(
        str(path.relative_to(ALLAUTH_TEMPLATES)).removesuffix("_message.txt")
        for path in ALLAUTH_TEMPLATES.glob("*/email/*_message.txt")
        if not path.name.startswith("base_")
    )


@pytest.fixture
def flaky_backend(settings):
    settings.EMAIL_BACKEND = "lms.tests.email_backends.FlakyEmailBackend"
    settings.EMAIL_DELIVERY_MAX_RETRIES = 3
    FlakyEmailBackend.failures = 0
    FlakyEmailBackend.attempts = 0
    FlakyEmailBackend.error = SMTPServerDisconnected("Connection unexpectedly closed")
    return FlakyEmailBackend


@pytest.fixture
def tasks_succeeded():
    """Names of the Celery tasks that ran to success during the test."""
    names: list[str] = []

    def record(sender, **kwargs):
        names.append(sender.name)

    task_success.connect(record, weak=False)
    yield names
    task_success.disconnect(record)


def _sign_up(client, email: str = "ann@example.com"):
    return client.post(
        "/accounts/signup/",
        {"email": email, "name": "Ann Lee", "password1": PASSWORD, "password2": PASSWORD},
    )


def _log_lines(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def _message(subject: str = "Hello", to: str = "bo@example.org") -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject, "Hello in text", to=[to])
    message.attach_alternative("<p>Hello in HTML</p>", "text/html")
    return message


# --- allauth's emails go through the task ------------------------------------------------
@pytest.mark.django_db
def test_signing_up_emails_the_verification_code_in_html_and_text_after_commit_through_the_task(
    client, django_capture_on_commit_callbacks, tasks_succeeded
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _sign_up(client)

    assert response.status_code == 302
    assert mail.outbox == []  # nothing is sent inside the request...
    assert len(callbacks) == 1
    callbacks[0]()  # ...but once its transaction commits

    [message] = mail.outbox
    code = client.session["account_email_verification_code"]["code"]
    html, mimetype = message.alternatives[0]
    assert re.fullmatch(r"[A-Z0-9]{6}", code)
    assert tasks_succeeded == ["lms.tasks.email_deliver"]
    assert message.to == ["ann@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "[LMS School] Please Confirm Your Email Address"
    assert mimetype == "text/html"
    assert code in message.body
    assert code in html
    assert "Welcome to LMS School!" in message.body
    assert "This email was sent by LMS School." in message.body
    assert html.startswith("<!doctype html>")
    assert "Welcome to LMS School</h1>" in html


def _render_request():
    request = RequestFactory(SERVER_NAME="localhost").get("/")
    request.user = AnonymousUser()
    request.session = {}
    return request


@dataclass
class _Provider:
    name: str

    def __str__(self) -> str:
        return self.name


@pytest.mark.django_db
@pytest.mark.parametrize("template_prefix", _allauth_email_prefixes())
def test_every_allauth_email_is_sent_with_html_and_text_parts_in_the_site_layout(
    template_prefix, django_capture_on_commit_callbacks
):
    context = {
        "code": "QX7T2M",
        "activate_url": "http://localhost/accounts/confirm-email/key/",
        "password_reset_url": "http://localhost/accounts/password/reset/key/1-set/",
        "signup_url": "http://localhost/accounts/signup/",
        "from_email": "old@example.com",
        "to_email": "new@example.com",
        "deleted_email": "gone@example.com",
        "provider": _Provider("Google"),
        "ip": "203.0.113.9",
        "user_agent": "Firefox",
        "timestamp": timezone.now(),
    }
    with (
        allauth_context.request_context(_render_request()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        get_adapter().send_mail(template_prefix, "ann@example.com", context)

    [message] = mail.outbox
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert message.subject.startswith("[LMS School] ")
    assert message.body.endswith("This email was sent by LMS School.\nhttp://localhost/")
    assert "Hello from" not in message.body  # allauth's own layout is replaced
    assert html.startswith("<!doctype html>")
    assert "max-width:560px" in html
    assert "This email was sent by LMS School." in html
    assert "{{" not in message.body + html


@pytest.mark.django_db
def test_text_parts_are_not_html_escaped_and_html_parts_are(django_capture_on_commit_callbacks):
    url = "http://localhost/accounts/password/reset/?a=1&b=<2>"
    with (
        allauth_context.request_context(_render_request()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        get_adapter().send_mail(
            "account/email/password_reset_key", "ann@example.com", {"password_reset_url": url}
        )

    [message] = mail.outbox
    assert f"\n{url}\n" in message.body
    assert (
        'href="http://localhost/accounts/password/reset/?a=1&amp;b=&lt;2&gt;"'
        in (message.alternatives[0][0])
    )


# --- our own emails ------------------------------------------------------------------------
@pytest.mark.django_db
def test_email_send_template_queues_both_parts_in_the_layout_with_a_link_to_the_site(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        email_send_template(
            to="ann@example.com",
            template_prefix="account/email/unknown_account",
            context={"email": "ann@example.com", "signup_url": "http://localhost/signup/"},
            request=_render_request(),
        )

    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert message.to == ["ann@example.com"]
    assert message.subject == "Unknown Account"
    assert "no account uses it" in message.body
    assert message.body.endswith("http://localhost/")
    assert '<a href="http://localhost/signup/"' in html
    assert '<a href="http://localhost/" style="color:#111827;text-decoration:none;">LMS School' in (
        html
    )


@pytest.mark.django_db
def test_nothing_is_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_queue(message=_message())
        raise RuntimeError("the change that the email announces failed")

    assert callbacks == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_attachments_and_headers_survive_the_trip_through_the_broker(
    django_capture_on_commit_callbacks,
):
    message = _message()
    message.attach("notes.txt", "Plain notes", "text/plain")
    message.attach("logo.png", b"\x89PNG\r\n\x1a\n\x00", "image/png")
    message.extra_headers["X-Invite"] = "abc"
    message.reply_to = ["help@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(message=message)

    [sent] = mail.outbox
    outbound = OutboundEmail.objects.get()
    assert sent.attachments == [
        ("notes.txt", "Plain notes", "text/plain"),
        ("logo.png", b"\x89PNG\r\n\x1a\n\x00", "image/png"),
    ]
    assert sent.extra_headers == {"X-Invite": "abc", "Message-ID": outbound.message_id}
    assert sent.message()["Message-ID"] == f"<{outbound.pk.hex}@localhost>"
    assert sent.reply_to == ["help@example.com"]
    assert sent.alternatives == [("<p>Hello in HTML</p>", "text/html")]


# --- retries ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_dropped_smtp_connection_is_retried_and_logged_then_the_email_arrives(
    client, flaky_backend, caplog, django_capture_on_commit_callbacks
):
    flaky_backend.failures = 2
    caplog.set_level(logging.WARNING, logger=LOGGER)

    with django_capture_on_commit_callbacks(execute=True):
        _sign_up(client, email="ann@mail.example.com")

    [message] = mail.outbox
    assert message.to == ["ann@mail.example.com"]
    assert flaky_backend.attempts == 3
    warnings = _log_lines(caplog, logging.WARNING)
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "Email delivery attempt 1 of 4 to mail.example.com failed "
        "(SMTPServerDisconnected: Connection unexpectedly closed); retrying in "
    )
    assert warnings[1].startswith("Email delivery attempt 2 of 4 to mail.example.com failed")
    assert _log_lines(caplog, logging.ERROR) == []
    assert "ann@" not in caplog.text  # domains only: addresses are personal data


@pytest.mark.django_db
def test_a_mail_server_that_stays_down_is_given_up_on_with_an_error_log_and_the_exception(
    client, flaky_backend, caplog, django_capture_on_commit_callbacks
):
    flaky_backend.failures = 100
    caplog.set_level(logging.WARNING, logger=LOGGER)

    with django_capture_on_commit_callbacks(execute=True):
        response = _sign_up(client)

    assert response.status_code == 302  # the sign-up itself succeeded
    assert mail.outbox == []
    assert flaky_backend.attempts == 4  # the first attempt and EMAIL_DELIVERY_MAX_RETRIES=3
    assert len(_log_lines(caplog, logging.WARNING)) == 3
    [error] = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert error.getMessage() == (
        "Email delivery to example.com failed for good on attempt 4 "
        "(transient error, retries exhausted)"
    )
    assert isinstance(error.exc_info[1], SMTPServerDisconnected)
    outbound = OutboundEmail.objects.get()
    assert (outbound.status, outbound.attempts, outbound.last_error) == (
        "failed",
        4,
        "SMTPServerDisconnected: Connection unexpectedly closed",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        SMTPDataError(554, b"5.7.1 Message rejected as spam"),
        SMTPRecipientsRefused({"bo@example.org": (550, b"5.1.1 No such user")}),
        ValueError("Header values can't contain newlines"),
    ],
    ids=["rejected-message", "unknown-recipient", "malformed-message"],
)
def test_a_permanent_failure_is_not_retried_but_logged_and_left_failed(
    error, flaky_backend, caplog, django_capture_on_commit_callbacks
):
    flaky_backend.failures = 100
    flaky_backend.error = error
    caplog.set_level(logging.WARNING, logger=LOGGER)

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(message=_message())

    assert flaky_backend.attempts == 1
    outbound = OutboundEmail.objects.get()
    assert (outbound.status, outbound.attempts) == ("failed", 1)
    assert outbound.last_error.startswith(f"{type(error).__name__}: ")
    assert _log_lines(caplog, logging.WARNING) == []
    assert _log_lines(caplog, logging.ERROR) == [
        "Email delivery to example.org failed for good on attempt 1 (permanent)"
    ]


@pytest.mark.django_db
def test_a_temporarily_refused_recipient_is_retried(
    flaky_backend, caplog, django_capture_on_commit_callbacks
):
    flaky_backend.failures = 1
    flaky_backend.error = SMTPRecipientsRefused({"bo@example.org": (451, b"4.7.1 Greylisted")})

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(message=_message())

    assert flaky_backend.attempts == 2
    assert len(mail.outbox) == 1


# --- an email provider through django-anymail ----------------------------------------------
MAILGUN_SEND_URL = "https://api.mailgun.net/v3/mg.example.com/messages"


@pytest.fixture
def mailgun(settings):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {"MAILGUN_API_KEY": "key-test", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}
    settings.EMAIL_DELIVERY_MAX_RETRIES = 3
    with responses.RequestsMock() as api:
        yield api


@pytest.mark.django_db
def test_a_provider_outage_is_retried_until_the_provider_accepts_the_email(
    mailgun, caplog, django_capture_on_commit_callbacks
):
    mailgun.post(MAILGUN_SEND_URL, status=503, body="Service Unavailable")
    mailgun.post(MAILGUN_SEND_URL, json={"id": "<1@mg.example.com>", "message": "Queued."})
    caplog.set_level(logging.WARNING, logger=LOGGER)

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(message=_message(subject="Your invite"))

    assert len(mailgun.calls) == 2
    sent = parse_qs(mailgun.calls[1].request.body)
    assert sent["to"] == ["bo@example.org"]
    assert sent["subject"] == ["Your invite"]
    assert sent["text"] == ["Hello in text"]
    assert sent["html"] == ["<p>Hello in HTML</p>"]
    [warning] = _log_lines(caplog, logging.WARNING)
    assert warning.startswith(
        "Email delivery attempt 1 of 4 to example.org failed (AnymailRequestsAPIError: "
    )


@pytest.mark.django_db
def test_a_request_the_provider_refuses_is_not_retried(
    mailgun, caplog, django_capture_on_commit_callbacks
):
    mailgun.post(MAILGUN_SEND_URL, status=400, json={"message": "from parameter is missing"})

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(message=_message())

    assert OutboundEmail.objects.get().status == "failed"

    assert len(mailgun.calls) == 1
    assert _log_lines(caplog, logging.ERROR) == [
        "Email delivery to example.org failed for good on attempt 1 (permanent)"
    ]


# --- settings: which backend sends ----------------------------------------------------------
_EMAIL_ENV = ("EMAIL_URL", "EMAIL_TIMEOUT", "DJANGO_SETTINGS_MODULE")
_PRINT_EMAIL_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from django.core.mail import get_connection
connection = get_connection()  # anymail checks its settings here
print(json.dumps({
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "connection": type(connection).__module__,
    "ANYMAIL": getattr(settings, "ANYMAIL", None),
    "EMAIL_HOST": settings.EMAIL_HOST,
    "EMAIL_PORT": settings.EMAIL_PORT,
    "EMAIL_HOST_USER": settings.EMAIL_HOST_USER,
    "EMAIL_HOST_PASSWORD": settings.EMAIL_HOST_PASSWORD,
    "EMAIL_USE_TLS": settings.EMAIL_USE_TLS,
    "EMAIL_TIMEOUT": settings.EMAIL_TIMEOUT,
}))
"""


def _email_settings(**env: str) -> dict:
    """The email settings of a fresh process: settings are read once per process."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in _EMAIL_ENV and not key.startswith("ANYMAIL_")
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="lms.settings")
    result = subprocess.run(  # noqa: S603 - our own settings, fixed code
        [sys.executable, "-c", _PRINT_EMAIL_SETTINGS],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_development_prints_email_to_the_console():
    config = _email_settings()

    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert config["EMAIL_TIMEOUT"] == 30


def test_smtp_is_configured_from_email_url():
    config = _email_settings(
        EMAIL_URL="smtp+tls://mailer:p%40ss@smtp.example.com:587", EMAIL_TIMEOUT="10"
    )

    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("smtp.example.com", 587)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("mailer", "p@ss")
    assert config["EMAIL_USE_TLS"] is True
    assert config["EMAIL_TIMEOUT"] == 10


@pytest.mark.parametrize(
    ("env", "anymail"),
    [
        (
            {
                "ANYMAIL_PROVIDER": "mailgun",
                "ANYMAIL_API_KEY": "key-1",
                "ANYMAIL_API_URL": "https://api.eu.mailgun.net/v3",
                "ANYMAIL_SENDER_DOMAIN": "mg.example.com",
            },
            {
                "MAILGUN_API_KEY": "key-1",
                "MAILGUN_API_URL": "https://api.eu.mailgun.net/v3",
                "MAILGUN_SENDER_DOMAIN": "mg.example.com",
            },
        ),
        (
            {"ANYMAIL_PROVIDER": "postmark", "ANYMAIL_API_KEY": "token-1"},
            {"POSTMARK_SERVER_TOKEN": "token-1"},
        ),
        (
            {"ANYMAIL_PROVIDER": "amazon_ses", "ANYMAIL_AWS_REGION": "eu-west-1"},
            {"AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"}},
        ),
        (
            {"ANYMAIL_PROVIDER": "Brevo", "ANYMAIL_API_KEY": "xkeysib-1"},
            {"BREVO_API_KEY": "xkeysib-1"},
        ),
    ],
    ids=["mailgun", "postmark", "amazon_ses", "brevo"],
)
def test_an_anymail_provider_is_chosen_from_the_environment(env, anymail):
    config = _email_settings(EMAIL_URL="smtp://ignored.example.com:25", **env)

    provider = env["ANYMAIL_PROVIDER"].lower()
    assert config["EMAIL_BACKEND"] == f"anymail.backends.{provider}.EmailBackend"
    assert config["connection"] == f"anymail.backends.{provider}"
    assert config["ANYMAIL"] == {"REQUESTS_TIMEOUT": 30, **anymail}
