"""A certificate issued tells its learner: a notification (the bell) and, by their
preference, an email; once per certificate, and only after the completion is committed."""

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from notifications.kinds import Delivery
from notifications.models import Notification, NotificationPreference
from progress.models import Certificate
from progress.services import lesson_complete

pytestmark = pytest.mark.django_db


def _course(title: str = "Salsa basics"):
    section = SectionFactory(course=CourseFactory(title=title, slug="salsa"), order=0)
    return [LessonFactory(section=section, order=order) for order in range(2)]


def test_completing_a_course_notifies_and_emails_the_certificate_once(
    django_capture_on_commit_callbacks,
):
    learner = UserFactory(email="ada@example.com", display_name="Ada Lovelace")
    lessons = _course()

    with django_capture_on_commit_callbacks(execute=True):
        for lesson in lessons:
            lesson_complete(user=learner, lesson=lesson)
    with django_capture_on_commit_callbacks(execute=True):
        lesson_complete(user=learner, lesson=lessons[-1])  # again: nothing new

    certificate = Certificate.objects.get(user=learner)
    [notification] = Notification.objects.filter(user=learner)
    assert (notification.kind, notification.title) == (
        "certificate",
        "You earned a certificate: Salsa basics",
    )
    assert notification.url == f"/certificates/{certificate.code}/"
    assert notification.source == f"certificate:{certificate.code}"
    [email] = mail.outbox
    assert (email.to, email.subject) == (["ada@example.com"], notification.title)
    assert f"http://127.0.0.1:8000/certificates/{certificate.code}/" in email.body


def test_a_learner_who_chose_no_certificate_emails_still_sees_it_in_app(
    django_capture_on_commit_callbacks,
):
    learner = UserFactory()
    NotificationPreference.objects.create(user=learner, kind="certificate", delivery=Delivery.OFF)

    with django_capture_on_commit_callbacks(execute=True):
        for lesson in _course():
            lesson_complete(user=learner, lesson=lesson)

    assert Notification.objects.filter(user=learner, kind="certificate").count() == 1
    assert mail.outbox == []


def test_a_completion_rolled_back_notifies_nobody(django_capture_on_commit_callbacks):
    from django.db import transaction

    learner = UserFactory()
    lessons = _course()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        for lesson in lessons:
            lesson_complete(user=learner, lesson=lesson)
        raise RuntimeError("rolled back")

    assert Notification.objects.count() == 0
    assert mail.outbox == []
