"""The email outbox: a row per message, written with the change it announces, sent once.

Tasks run eagerly here (conftest.py), so a message is sent when its transaction commits;
`test_email_worker.py` runs real workers on Redis, one of them SIGKILLed mid-send. The mail
server is Django's locmem backend (`mail.outbox`), or the flaky one at the same boundary.
"""

import random
from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from lms.email import email_queue, email_send_template
from lms.models import OutboundEmail
from lms.tasks import email_deliver, email_outbox_sweep
from lms.tests.email_backends import FlakyEmailBackend
from lms.tests.worker import tasks_published_to

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:lms_outboundemail_changelist")
# Nothing listens on port 1: every connection is refused at once, as with Redis down.
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def _message(subject: str = "Your invite", to: str = "bo@mail.example.org"):
    message = EmailMultiAlternatives(subject, "Hello in text", to=[to])
    message.attach_alternative("<p>Hello in HTML</p>", "text/html")
    return message


def test_a_queued_email_is_an_outbox_row_of_its_transaction_marked_sent_with_its_message_id(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email_queue(message=_message())
        outbound = OutboundEmail.objects.get()  # written inside the transaction
        assert (outbound.status, outbound.attempts) == ("pending", 0)

    outbound.refresh_from_db()
    [sent] = mail.outbox
    assert (outbound.status, outbound.attempts, outbound.last_error) == ("sent", 1, "")
    assert outbound.sent_at is not None
    assert (outbound.subject, outbound.to_domains) == ("Your invite", "mail.example.org")
    assert outbound.message_id == f"<{outbound.pk.hex}@localhost>"
    assert sent.message()["Message-ID"] == outbound.message_id


def test_a_rolled_back_transaction_leaves_no_outbox_row(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_queue(message=_message())
        raise RuntimeError("the change the email announces failed")

    assert not OutboundEmail.objects.exists()
    assert mail.outbox == []


def test_the_delivery_task_run_again_for_a_sent_message_sends_nothing(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        outbound = email_queue(message=_message())

    # A broker redelivering the message, or a sweep that queued it meanwhile.
    email_deliver.delay(email_id=str(outbound.pk))
    email_deliver.delay(email_id=str(outbound.pk))

    outbound.refresh_from_db()
    assert len(mail.outbox) == 1
    assert (outbound.status, outbound.attempts) == ("sent", 1)


def test_a_message_queued_twice_with_one_idempotency_key_is_stored_and_sent_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        first = email_queue(message=_message(), idempotency_key="invoice-in_1-failed")
        again = email_queue(message=_message(), idempotency_key="invoice-in_1-failed")

    assert again.pk == first.pk
    assert OutboundEmail.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_message_claimed_by_a_live_worker_is_not_sent_again(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        outbound = email_queue(message=_message())
    OutboundEmail.objects.filter(pk=outbound.pk).update(
        status="sending", claimed_at=timezone.now() - timedelta(seconds=5), attempts=1
    )

    email_deliver.delay(email_id=str(outbound.pk))

    outbound.refresh_from_db()
    assert mail.outbox == []
    assert (outbound.status, outbound.attempts) == ("sending", 1)


def test_the_sweep_sends_a_message_whose_worker_died_mid_send_with_the_same_message_id(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        outbound = email_queue(message=_message())
    stale = timezone.now() - timedelta(seconds=settings.LMS_EMAIL_CLAIM_TIMEOUT + 1)
    OutboundEmail.objects.filter(pk=outbound.pk).update(
        status="sending", claimed_at=stale, attempts=1
    )

    assert email_outbox_sweep.delay().get() == 1

    outbound.refresh_from_db()
    [sent] = mail.outbox
    assert sent.message()["Message-ID"] == outbound.message_id
    assert (outbound.status, outbound.attempts) == ("sent", 2)
    assert email_outbox_sweep.delay().get() == 0  # nothing left to do
    assert len(mail.outbox) == 1


def test_with_the_broker_down_a_password_reset_succeeds_and_the_sweep_delivers_it_later(
    client, caplog, django_capture_on_commit_callbacks
):
    UserFactory(email="ann@example.com")

    with tasks_published_to(DEAD_BROKER), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": "ann@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    outbound = OutboundEmail.objects.get()
    assert (outbound.status, outbound.attempts) == ("pending", 0)
    assert mail.outbox == []
    assert f"Could not queue email {outbound.pk}" in caplog.text

    # The broker is back (tasks run here again); the sweep's next run finds the message due.
    OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    assert email_outbox_sweep.delay().get() == 1

    outbound.refresh_from_db()
    [sent] = mail.outbox
    assert sent.to == ["ann@example.com"]
    assert "/accounts/password/reset/key/" in sent.body
    assert outbound.status == "sent"


def test_a_retry_due_later_than_the_broker_may_hold_it_waits_in_the_outbox(
    settings, flaky_long_backoff, django_capture_on_commit_callbacks
):
    with tasks_published_to(DEAD_BROKER), django_capture_on_commit_callbacks(execute=False):
        outbound = email_queue(message=_message())
    # The worker's attempt: the task runs here, as a worker would run it from the broker.
    with tasks_published_to(DEAD_BROKER):
        email_deliver.apply(kwargs={"email_id": str(outbound.pk)})

    outbound.refresh_from_db()
    assert (outbound.status, outbound.attempts) == ("pending", 1)
    assert outbound.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert outbound.next_attempt_at > timezone.now() + timedelta(
        seconds=settings.LMS_TASK_COUNTDOWN_MAX
    )
    assert email_outbox_sweep.delay().get() == 0  # not due yet

    OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    assert email_outbox_sweep.delay().get() == 1

    outbound.refresh_from_db()
    assert outbound.status == "sent"
    assert len(mail.outbox) == 1


@pytest.fixture
def flaky_long_backoff(settings):
    """The first send fails; the retry's backoff is far longer than the broker may hold it."""
    settings.EMAIL_BACKEND = "lms.tests.email_backends.FlakyEmailBackend"
    settings.EMAIL_DELIVERY_RETRY_BACKOFF = settings.EMAIL_DELIVERY_RETRY_BACKOFF_MAX = 3600
    FlakyEmailBackend.failures, FlakyEmailBackend.attempts = 1, 0
    FlakyEmailBackend.error = SMTPServerDisconnected("Connection unexpectedly closed")
    # The backoff has full jitter (anywhere from 0 to the hour): a fixed seed makes this
    # retry's draw a long one (about 36 minutes), so the test always takes the outbox path
    # it is about instead of failing one run in twenty-four.
    random.seed(17)
    yield
    FlakyEmailBackend.failures = 0


def test_sent_messages_are_deleted_from_the_outbox_after_the_keep_days(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        old = email_queue(message=_message(subject="Old"))
        recent = email_queue(message=_message(subject="Recent"))
    long_ago = timezone.now() - timedelta(days=settings.LMS_EMAIL_OUTBOX_KEEP_DAYS + 1)
    OutboundEmail.objects.filter(pk=old.pk).update(sent_at=long_ago)

    email_outbox_sweep.delay()

    assert list(OutboundEmail.objects.values_list("subject", flat=True)) == ["Recent"]
    assert recent.pk == OutboundEmail.objects.get().pk


# --- Admin ---------------------------------------------------------------------------------


def _failed_email() -> OutboundEmail:
    with tasks_published_to(DEAD_BROKER):
        email_send_template(
            to="ann@example.com",
            template_prefix="account/email/unknown_account",
            context={"email": "ann@example.com", "signup_url": "http://localhost/signup/"},
        )
    outbound = OutboundEmail.objects.get()
    OutboundEmail.objects.filter(pk=outbound.pk).update(
        status="failed", attempts=9, last_error="SMTPServerDisconnected: gone"
    )
    return outbound


def test_the_admin_lists_the_outbox_read_only_without_message_text(staff_client):
    outbound = _failed_email()

    page = staff_client.get(CHANGELIST)
    change = staff_client.get(reverse("admin:lms_outboundemail_change", args=[outbound.pk]))
    add = staff_client.get(reverse("admin:lms_outboundemail_add"))
    edit = staff_client.post(
        reverse("admin:lms_outboundemail_change", args=[outbound.pk]), {"status": "sent"}
    )

    html = page.content.decode()
    row = html[html.index("<tbody>") : html.index("</tbody>")]
    for shown in ("Unknown Account", "example.com", "Failed", "9", "SMTPServerDisconnected"):
        assert shown in row
    assert "ann@" not in html
    assert change.status_code == 200
    assert "no account uses it" not in change.content.decode()  # the text stays private
    assert outbound.message_id.strip("<>") in change.content.decode()
    assert (add.status_code, edit.status_code) == (403, 403)


def test_send_again_from_the_admin_delivers_a_failed_email(
    staff_client, django_capture_on_commit_callbacks
):
    outbound = _failed_email()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            CHANGELIST, {"action": "send_again", "_selected_action": [outbound.pk]}, follow=True
        )

    assert "Queued 1 email again." in response.content.decode()
    outbound.refresh_from_db()
    [sent] = mail.outbox
    assert sent.to == ["ann@example.com"]
    assert (outbound.status, outbound.attempts, outbound.last_error) == ("sent", 10, "")


def test_staff_who_may_only_view_the_outbox_cannot_send_again(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboundemail"))
    client.force_login(viewer)
    outbound = _failed_email()

    page = client.get(CHANGELIST)
    client.post(CHANGELIST, {"action": "send_again", "_selected_action": [outbound.pk]})

    assert page.status_code == 200
    assert "send_again" not in page.content.decode()
    outbound.refresh_from_db()
    assert outbound.status == "failed"
    assert mail.outbox == []
