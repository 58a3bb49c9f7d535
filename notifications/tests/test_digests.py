"""Digests: one email per learner and period with the right notifications, never twice
(run twice, or twice at once on PostgreSQL), in bounded batches that re-queue."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from lms.models import OutboundEmail
from lms.tests.concurrency import run_together
from notifications import services
from notifications.kinds import Delivery
from notifications.models import Digest, Notification
from notifications.services import digest_period_bounds
from notifications.tasks import digests_send
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def _run(period: str) -> int:
    return digests_send.apply(kwargs={"period": period}, throw=True).result


def _titles(email) -> list[str]:
    return [line[2:] for line in email.body.splitlines() if line.startswith("- ")]


def test_the_daily_digest_lists_yesterdays_waiting_notifications_in_one_email_per_learner(
    django_capture_on_commit_callbacks,
):
    start, end = digest_period_bounds(period=Delivery.DAILY)
    lea = UserFactory(email="lea@example.com")
    sam = UserFactory(email="sam@example.com")
    weekly = UserFactory(email="weekly@example.com")

    def note(user, title, at, delivery=Delivery.DAILY, **fields):
        return NotificationFactory(
            user=user, title=title, created_at=at, email_delivery=delivery, **fields
        )

    first = note(lea, "Ana replied to your thread", start + timedelta(hours=1), kind="reply")
    second = note(lea, "Bo mentioned you", start + timedelta(hours=5), kind="mention")
    missed = note(lea, "Left behind by a missed run", start - timedelta(hours=2))
    note(lea, "Too old for this digest", start - timedelta(days=2))
    note(lea, "Today: the next digest", end + timedelta(minutes=1))
    note(lea, "Emailed at once", start + timedelta(hours=2), delivery=Delivery.IMMEDIATELY)
    note(lea, "Email off", start + timedelta(hours=3), delivery=Delivery.OFF)
    note(weekly, "For the weekly digest", start + timedelta(hours=1), delivery=Delivery.WEEKLY)
    sams = note(sam, "Your certificate", start + timedelta(hours=8), kind="certificate")

    with django_capture_on_commit_callbacks(execute=True):
        assert _run(Delivery.DAILY) == 2

    by_recipient = {email.to[0]: email for email in mail.outbox}
    assert sorted(by_recipient) == ["lea@example.com", "sam@example.com"]
    leas = by_recipient["lea@example.com"]
    assert leas.subject == "Your day at LMS School: 3 notifications"
    assert _titles(leas) == [
        "Left behind by a missed run",
        "Ana replied to your thread",
        "Bo mentioned you",
    ]
    assert "http://127.0.0.1:8000/courses/demo/intro/" in leas.body
    assert leas.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert leas.extra_headers["List-Unsubscribe"].startswith(
        "<http://127.0.0.1:8000/notifications/unsubscribe/"
    )
    html = leas.alternatives[0][0]
    assert "Ana replied to your thread" in html and "Today: the next digest" not in html
    assert _titles(by_recipient["sam@example.com"]) == ["Your certificate"]

    digest = Digest.objects.get(user=lea)
    assert (digest.period, digest.period_start, digest.period_end) == ("daily", start, end)
    assert digest.item_count == 3
    assert OutboundEmail.objects.get(pk=digest.email_id).idempotency_key == (
        f"notification-digest:{digest.pk}"
    )
    for item in (first, second, missed, sams):
        item.refresh_from_db()
        assert item.emailed_at is not None
    assert set(Notification.objects.filter(digest=digest)) == {first, second, missed}


def test_the_weekly_digest_covers_last_week(django_capture_on_commit_callbacks):
    start, _ = digest_period_bounds(period=Delivery.WEEKLY)
    learner = UserFactory(email="weekly@example.com")
    NotificationFactory(
        user=learner,
        title="Course announcement",
        created_at=start + timedelta(days=3),
        email_delivery=Delivery.WEEKLY,
    )
    NotificationFactory(
        user=learner,
        title="Daily item",
        created_at=start + timedelta(days=3),
        email_delivery=Delivery.DAILY,
    )

    with django_capture_on_commit_callbacks(execute=True):
        _run(Delivery.WEEKLY)

    [email] = mail.outbox
    assert email.subject == "Your week at LMS School: 1 notification"
    assert _titles(email) == ["Course announcement"]


def test_running_the_digest_twice_sends_nothing_the_second_time(django_capture_on_commit_callbacks):
    start, _ = digest_period_bounds(period=Delivery.DAILY)
    learner = UserFactory()
    NotificationFactory(
        user=learner, created_at=start + timedelta(hours=1), email_delivery=Delivery.DAILY
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert _run(Delivery.DAILY) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert _run(Delivery.DAILY) == 0

    assert len(mail.outbox) == 1
    assert Digest.objects.count() == 1


def test_a_notification_arriving_after_the_digest_waits_for_the_next_one(
    django_capture_on_commit_callbacks,
):
    start, end = digest_period_bounds(period=Delivery.DAILY)
    learner = UserFactory()
    NotificationFactory(
        user=learner, created_at=start + timedelta(hours=1), email_delivery=Delivery.DAILY
    )
    with django_capture_on_commit_callbacks(execute=True):
        _run(Delivery.DAILY)
    late = NotificationFactory(
        user=learner, created_at=start + timedelta(hours=2), email_delivery=Delivery.DAILY
    )
    with django_capture_on_commit_callbacks(execute=True):
        _run(Delivery.DAILY)  # this period's digest went: nothing more today
        digests_send.apply(
            kwargs={
                "period": Delivery.DAILY,
                "period_start": end.isoformat(),
                "period_end": (end + timedelta(days=1)).isoformat(),
            }
        )

    assert len(mail.outbox) == 2
    assert _titles(mail.outbox[1]) == [late.title]


def test_inactive_learners_and_unsubscribed_kinds_get_no_digest(django_capture_on_commit_callbacks):
    from notifications.services import notifications_unsubscribe

    start, _ = digest_period_bounds(period=Delivery.DAILY)
    gone = UserFactory(is_active=False)
    quiet = UserFactory()
    for user in (gone, quiet):
        NotificationFactory(
            user=user, created_at=start + timedelta(hours=1), email_delivery=Delivery.DAILY
        )
    notifications_unsubscribe(user=quiet, kind="reply")

    with django_capture_on_commit_callbacks(execute=True):
        assert _run(Delivery.DAILY) == 0
    assert mail.outbox == []


def test_learners_are_taken_in_bounded_batches_that_re_queue(
    django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(services, "DIGEST_USER_BATCH", 2)
    start, _ = digest_period_bounds(period=Delivery.DAILY)
    learners = [UserFactory() for _ in range(5)]
    for learner in learners:
        NotificationFactory(
            user=learner, created_at=start + timedelta(hours=1), email_delivery=Delivery.DAILY
        )

    with django_capture_on_commit_callbacks(execute=True):
        _run(Delivery.DAILY)

    assert sorted(email.to[0] for email in mail.outbox) == sorted(u.email for u in learners)
    assert Digest.objects.count() == 5


@pytest.mark.parametrize(
    ("now", "daily", "weekly_start"),
    [
        # Wednesday 2026-12-02 09:30 UTC, digests at 07:00.
        (datetime(2026, 12, 2, 9, 30, tzinfo=UTC), (1, 7), datetime(2026, 11, 23, 7, tzinfo=UTC)),
        # Monday 2026-11-30 06:59: before the hour, the period is still the one before.
        (datetime(2026, 11, 30, 6, 59, tzinfo=UTC), (28, 7), datetime(2026, 11, 16, 7, tzinfo=UTC)),
        # Monday 2026-11-30 07:00: last week has just ended.
        (datetime(2026, 11, 30, 7, 0, tzinfo=UTC), (29, 7), datetime(2026, 11, 23, 7, tzinfo=UTC)),
    ],
)
def test_periods_end_at_the_digest_hour(settings, now, daily, weekly_start):
    settings.LMS_DIGEST_HOUR = 7
    start, end = digest_period_bounds(period=Delivery.DAILY, now=now)
    assert (start.day, start.hour) == daily
    assert end - start == timedelta(days=1)
    week_start, week_end = digest_period_bounds(period=Delivery.WEEKLY, now=now)
    assert (week_start, week_end - week_start) == (weekly_start, timedelta(days=7))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_digest_runs_at_once_send_each_learner_one_email():
    start, _ = digest_period_bounds(period=Delivery.DAILY)
    learners = [UserFactory() for _ in range(6)]
    for learner in learners:
        for hour in (1, 2):
            NotificationFactory(
                user=learner,
                created_at=start + timedelta(hours=hour),
                email_delivery=Delivery.DAILY,
            )

    results = run_together([lambda: _run(Delivery.DAILY), lambda: _run(Delivery.DAILY)])

    assert sum(results) == 6
    assert sorted(email.to[0] for email in mail.outbox) == sorted(u.email for u in learners)
    assert OutboundEmail.objects.count() == 6
    assert Digest.objects.count() == 6
    assert set(Digest.objects.values_list("item_count", flat=True)) == {2}
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
