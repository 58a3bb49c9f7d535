"""The server's own events: written by progress and billing in their own transactions, each
fact once however often it is replayed."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import UserFactory
from analytics.models import Event
from billing.services import subscription_sync
from billing.tests.factories import CustomerFactory, PlanFactory, TierFactory
from billing.tests.fake_stripe import fake_stripe_fixture  # noqa: F401
from catalog.models import Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from progress.services import (
    enrollment_enroll,
    enrollment_unenroll,
    quiz_attempt_submit,
)

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/progress/sync/"


def server_events(type: str | None = None) -> list[Event]:
    events = Event.objects.filter(source="server").order_by("id")
    return list(events.filter(type=type) if type else events)


def test_enrolling_records_one_event_and_coming_back_another(user):
    course = CourseFactory()

    enrollment = enrollment_enroll(user=user, course=course)
    enrollment_enroll(user=user, course=course)  # already enrolled: nothing happens

    [event] = server_events()
    assert (event.type, event.user_id, event.course_id, event.lesson_id) == (
        "enrollment.created",
        user.pk,
        course.pk,
        None,
    )
    assert (event.app, event.properties, event.occurred_at) == (
        "server",
        {"source": "self"},
        enrollment.created_at,
    )

    enrollment_unenroll(user=user, course=course)
    enrollment_enroll(user=user, course=course)

    assert [e.type for e in server_events()] == ["enrollment.created"] * 2


def test_a_sync_batch_records_enrollment_and_completions_once_however_often_replayed(
    api_client, user
):
    course = CourseFactory()
    section = SectionFactory(course=course)
    first, second = (
        LessonFactory(section=section, kind=Lesson.Kind.TEXT, order=order) for order in (1, 2)
    )
    at = datetime.now(UTC) - timedelta(minutes=5)
    batch = {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "complete",
                "lesson": str(lesson.pk),
                "occurred_at": (at + timedelta(minutes=index)).isoformat(),
            }
            for index, lesson in enumerate((first, second))
        ]
    }
    api_client.force_authenticate(user)

    for _ in range(2):
        assert api_client.post(SYNC, batch, format="json").status_code == 200
    # The same completions sent again with new ids change nothing either.
    for event in batch["events"]:
        event["id"] = str(uuid.uuid4())
    assert api_client.post(SYNC, batch, format="json").status_code == 200

    events = server_events()
    assert sorted((e.type, e.lesson_id) for e in events) == sorted(
        [
            ("enrollment.created", None),
            ("lesson.completed", first.pk),
            ("lesson.completed", second.pk),
            ("course.completed", None),
        ]
    )
    assert {(e.user_id, e.course_id) for e in events} == {(user.pk, course.pk)}
    completed = {e.lesson_id: e.occurred_at for e in server_events("lesson.completed")}
    assert completed[first.pk] == at


def test_a_quiz_attempt_is_recorded_with_its_score_once_per_attempt(user):
    course = CourseFactory()
    section = SectionFactory(course=course)
    LessonFactory(section=section, order=0)
    lesson = LessonFactory(section=section, kind=Lesson.Kind.QUIZ, order=1)
    quiz_with_questions(lesson=lesson)
    client_id = uuid.uuid4()

    submission = quiz_attempt_submit(user=user, lesson=lesson, answers={}, client_id=client_id)
    quiz_attempt_submit(user=user, lesson=lesson, answers={}, client_id=client_id)  # a retry

    [event] = server_events("quiz.attempted")
    attempt = submission.attempt
    assert (event.user_id, event.lesson_id, event.course_id, event.occurred_at) == (
        user.pk,
        lesson.pk,
        course.pk,
        attempt.created_at,
    )
    assert event.properties == {"score": 0, "passed": False, "attempt_id": str(attempt.pk)}


@pytest.fixture
def plan():
    return PlanFactory(
        slug="pro-monthly",
        tier=TierFactory(slug="pro", rank=2),
        stripe_price_monthly="price_pro_monthly",
        stripe_price_yearly="price_pro_yearly",
    )


def test_subscription_changes_are_recorded_and_resyncs_without_change_are_not(
    fake_stripe, plan, django_capture_on_commit_callbacks
):
    user = UserFactory()
    remote = fake_stripe.customer_create(email=user.email, metadata={"user_id": str(user.pk)})
    customer = CustomerFactory(user=user, stripe_id=remote["id"])
    sub, _ = fake_stripe.subscription_create(customer=remote["id"], price="price_pro_monthly")

    def sync():
        with django_capture_on_commit_callbacks(execute=True):
            subscription_sync(subscription_id=sub["id"], customer_id=customer.stripe_id)

    sync()
    sync()  # a replayed webhook: nothing changed
    fake_stripe.subscription_cancel(sub["id"])
    sync()
    sync()

    events = server_events("subscription.changed")
    assert [e.user_id for e in events] == [user.pk, user.pk]
    started, cancelled = (e.properties for e in events)
    assert started == {
        "tier": "pro",
        "plan": "pro-monthly",
        "status": "active",
        "previous_status": None,
        "interval": "month",
        "amount_cents": 1000,  # the fake's default price: $10 a month
        "currency": "usd",
    }
    assert cancelled["status"] == "canceled"
    assert cancelled["previous_status"] == "active"


def test_signing_up_records_one_event(client, django_capture_on_commit_callbacks):
    from django.urls import reverse

    from accounts.models import User

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {
                "email": "bo@example.com",
                "name": "Bo Berg",
                "password1": "a-long-and-unusual-passphrase",
                "password2": "a-long-and-unusual-passphrase",
            },
        )

    user = User.objects.get(email="bo@example.com")
    [event] = server_events()
    assert (event.type, event.user_id, event.occurred_at) == (
        "user.signed_up",
        user.pk,
        user.date_joined,
    )
