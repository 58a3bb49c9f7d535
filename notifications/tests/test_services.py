"""Sending notifications: once per source, to those who can receive them, emailed by the
learner's preference (at once through the outbox, later in a digest, or never)."""

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from lms.errors import ApplicationError, ErrorCode
from lms.models import OutboundEmail
from notifications.kinds import Delivery, kind_register, kinds_emailed
from notifications.models import Notification, NotificationPreference
from notifications.services import (
    notification_mark_read,
    notification_preferences_set,
    notification_send,
    notifications_mark_all_read,
    notifications_send_many,
    notifications_unsubscribe,
)
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def _send(user, *, source="reply:1", kind="reply", **fields):
    return notification_send(
        user=user,
        kind=kind,
        title=fields.pop("title", "Ana replied to your thread"),
        body=fields.pop("body", "Try the left foot first."),
        url=fields.pop("url", "/courses/salsa/basics/#reply-1"),
        source=source,
        **fields,
    )


def test_sending_stores_the_notification_and_emails_it_at_once_by_default(
    django_capture_on_commit_callbacks,
):
    learner, ana = UserFactory(email="lea@example.com"), UserFactory(display_name="Ana")

    with django_capture_on_commit_callbacks(execute=True):
        notification = _send(learner, actor=ana)

    notification.refresh_from_db()
    assert (notification.user, notification.kind, notification.actor) == (learner, "reply", ana)
    assert (notification.title, notification.read_at) == ("Ana replied to your thread", None)
    assert notification.email_delivery == Delivery.IMMEDIATELY
    assert notification.emailed_at is not None
    [email] = mail.outbox
    assert email.to == ["lea@example.com"]
    assert email.subject == "Ana replied to your thread"
    assert "Try the left foot first." in email.body
    assert "http://127.0.0.1:8000/courses/salsa/basics/#reply-1" in email.body
    html = email.alternatives[0][0]
    assert 'href="http://127.0.0.1:8000/courses/salsa/basics/#reply-1"' in html
    unsubscribe = email.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://127.0.0.1:8000/notifications/unsubscribe/")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in email.body


def test_sending_the_same_source_twice_stores_and_emails_once(django_capture_on_commit_callbacks):
    learner = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        first = _send(learner, title="First")
        second = _send(learner, title="Second")

    assert second == first
    assert list(Notification.objects.values_list("title", flat=True)) == ["First"]
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.count() == 1


def test_the_same_source_for_two_users_tells_each(django_capture_on_commit_callbacks):
    one, two = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _send(one, source="announcement:7", kind="announcement")
        _send(two, source="announcement:7", kind="announcement")
    assert Notification.objects.filter(source="announcement:7").count() == 2
    assert sorted(email.to[0] for email in mail.outbox) == sorted([one.email, two.email])


def test_an_inactive_user_or_the_actor_themselves_gets_nothing_and_nothing_raises(
    django_capture_on_commit_callbacks,
):
    gone = UserFactory(is_active=False)
    ana = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(gone) is None
        assert _send(ana, actor=ana) is None
        assert _send(None) is None
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_preference_off_still_shows_in_app_but_sends_no_email(django_capture_on_commit_callbacks):
    learner = UserFactory()
    NotificationPreference.objects.create(user=learner, kind="reply", delivery=Delivery.OFF)

    with django_capture_on_commit_callbacks(execute=True):
        notification = _send(learner)

    notification.refresh_from_db()
    assert (notification.email_delivery, notification.emailed_at) == (Delivery.OFF, None)
    assert mail.outbox == []
    assert OutboundEmail.objects.count() == 0


def test_a_digest_preference_waits_for_the_digest(django_capture_on_commit_callbacks):
    learner = UserFactory()
    NotificationPreference.objects.create(user=learner, kind="mention", delivery=Delivery.WEEKLY)

    with django_capture_on_commit_callbacks(execute=True):
        notification = _send(learner, kind="mention", source="mention:1")

    notification.refresh_from_db()
    assert (notification.email_delivery, notification.emailed_at) == (Delivery.WEEKLY, None)
    assert mail.outbox == []


def test_payment_problems_are_in_app_only(django_capture_on_commit_callbacks):
    learner = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification = _send(learner, kind="payment_problem", source="payment_failed:in_1")
    assert notification.email_delivery == Delivery.OFF
    assert mail.outbox == []
    assert "payment_problem" not in [kind.key for kind in kinds_emailed()]


def test_an_unregistered_kind_is_a_programming_error():
    with pytest.raises(KeyError, match="not registered"):
        _send(UserFactory(), kind="no_such_kind")


def test_a_kind_registered_later_is_sent_and_emailed(
    django_capture_on_commit_callbacks, monkeypatch
):
    from notifications import kinds

    monkeypatch.setattr(kinds, "_kinds", dict(kinds._kinds))  # this test's kind stays here
    kind_register("quiz_graded", label="Quiz graded")
    learner = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification = _send(learner, kind="quiz_graded", source="quiz:1")
    assert notification.kind == "quiz_graded"
    assert len(mail.outbox) == 1


def test_sending_rolled_back_leaves_no_row_and_no_email(django_capture_on_commit_callbacks):
    from django.db import transaction

    learner = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _send(learner)
        raise RuntimeError("the caller's write failed")
    assert Notification.objects.count() == 0
    assert OutboundEmail.objects.count() == 0
    assert mail.outbox == []


def test_send_many_tells_each_learner_once_and_emails_by_preference(
    django_capture_on_commit_callbacks,
):
    instructor = UserFactory()
    learners = [UserFactory() for _ in range(4)]
    NotificationPreference.objects.create(
        user=learners[0], kind="announcement", delivery=Delivery.DAILY
    )
    NotificationPreference.objects.create(
        user=learners[1], kind="announcement", delivery=Delivery.OFF
    )
    everyone = [*learners, instructor, UserFactory(is_active=False)]

    with django_capture_on_commit_callbacks(execute=True):
        count = notifications_send_many(
            users=everyone,
            kind="announcement",
            title="Class moved to Friday",
            actor=instructor,
            source="announcement:42",
        )
    with django_capture_on_commit_callbacks(execute=True):
        again = notifications_send_many(
            users=everyone,
            kind="announcement",
            title="Class moved to Friday",
            actor=instructor,
            source="announcement:42",
        )

    assert (count, again) == (4, 4)
    rows = dict(Notification.objects.values_list("user__email", "email_delivery"))
    assert rows == {
        learners[0].email: Delivery.DAILY,
        learners[1].email: Delivery.OFF,
        learners[2].email: Delivery.IMMEDIATELY,
        learners[3].email: Delivery.IMMEDIATELY,
    }
    assert sorted(email.to[0] for email in mail.outbox) == sorted(
        [learners[2].email, learners[3].email]
    )


def test_send_many_accepts_a_queryset(django_capture_on_commit_callbacks):
    from accounts.models import User

    for _ in range(3):
        UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        count = notifications_send_many(
            users=User.objects.all(), kind="announcement", title="Hi", source="announcement:1"
        )
    assert count == 3
    assert Notification.objects.count() == 3


def test_marking_read_is_per_user_and_another_users_notification_is_not_found():
    mine = NotificationFactory()
    theirs = NotificationFactory()

    notification_mark_read(user=mine.user, notification_id=mine.pk)
    with pytest.raises(ApplicationError) as refused:
        notification_mark_read(user=mine.user, notification_id=theirs.pk)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None
    assert theirs.read_at is None
    assert refused.value.code == ErrorCode.NOTIFICATION_NOT_FOUND


def test_mark_all_read_touches_only_my_unread_ones():
    learner = UserFactory()
    NotificationFactory.create_batch(3, user=learner)
    other = NotificationFactory()

    assert notifications_mark_all_read(user=learner) == 3
    assert notifications_mark_all_read(user=learner) == 0
    assert Notification.objects.filter(user=learner, read_at__isnull=True).count() == 0
    other.refresh_from_db()
    assert other.read_at is None


def test_preferences_move_waiting_notifications_between_digests_or_drop_them():
    learner = UserFactory()
    waiting = NotificationFactory(user=learner, kind="reply", email_delivery=Delivery.DAILY)
    mention = NotificationFactory(user=learner, kind="mention", email_delivery=Delivery.DAILY)

    deliveries = notification_preferences_set(
        user=learner, deliveries={"reply": Delivery.WEEKLY, "mention": Delivery.OFF}
    )

    assert deliveries["reply"] == Delivery.WEEKLY
    assert deliveries["mention"] == Delivery.OFF
    assert deliveries["announcement"] == Delivery.IMMEDIATELY  # the default
    waiting.refresh_from_db()
    mention.refresh_from_db()
    assert (waiting.email_delivery, mention.email_delivery) == (Delivery.WEEKLY, Delivery.OFF)


def test_preferences_refuse_unknown_kinds_and_deliveries():
    learner = UserFactory()
    with pytest.raises(ApplicationError) as unknown:
        notification_preferences_set(user=learner, deliveries={"gossip": Delivery.OFF})
    with pytest.raises(ApplicationError) as in_app_only:
        notification_preferences_set(user=learner, deliveries={"payment_problem": Delivery.DAILY})
    with pytest.raises(ApplicationError) as wrong:
        notification_preferences_set(user=learner, deliveries={"reply": "hourly"})

    assert unknown.value.code == ErrorCode.NOTIFICATION_KIND_UNKNOWN
    assert list(unknown.value.fields) == ["gossip"]
    assert in_app_only.value.code == ErrorCode.NOTIFICATION_KIND_UNKNOWN
    assert wrong.value.code == ErrorCode.VALIDATION_ERROR
    assert list(wrong.value.fields) == ["reply"]
    assert NotificationPreference.objects.count() == 0


def test_unsubscribing_from_everything_turns_every_emailed_kind_off():
    learner = UserFactory()
    deliveries = notifications_unsubscribe(user=learner, kind=None)
    assert {deliveries[kind.key] for kind in kinds_emailed()} == {Delivery.OFF}
