"""When a scheduled section opens for a learner they are told once: an in-app notification
and an email (by their preference), the instant in their own time zone, a link to the
section's first lesson. The beat task's service decides who by the access policy."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Section, SectionUnlock
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.models import OutboundEmail
from lms.tests.concurrency import run_together
from notifications.kinds import Delivery
from notifications.models import Notification, NotificationPreference
from progress.cohorts.releases import section_release_notices_send
from progress.models import Cohort, CohortMembership, SectionReleaseNotice
from progress.services import lesson_complete
from progress.tasks import section_release_notices_send as release_notices_task
from progress.tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db

# Monday 3 March 2025, 09:00 UTC: 10:00 in Paris, 04:00 in New York.
OPENS = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _course(**section_rules):
    """A course whose second section ("Week 2") has the given rules."""
    course = CourseFactory(title="Salsa basics", slug="salsa")
    first = SectionFactory(course=course, order=0, title="Week 1")
    LessonFactory(section=first, order=0, slug="basic-step", title="Basic step")
    week_two = SectionFactory(course=course, order=1, title="Week 2", **section_rules)
    LessonFactory(section=week_two, order=0, slug="hidden-one", title="Draft", is_hidden=True)
    LessonFactory(section=week_two, order=1, slug="cross-body", title="Cross-body lead")
    return course, week_two


def _learner(course: Course, *, zone: str = "UTC", enrolled_at: datetime = OPENS, **fields):
    user = UserFactory(time_zone=zone, **fields)
    EnrollmentFactory(user=user, course=course, created_at=enrolled_at)
    return user


def _send(capture, *, now: datetime) -> int:
    with capture(execute=True):
        return section_release_notices_send(now=now)


def test_a_fixed_release_tells_each_learner_once_in_their_own_time_zone(
    django_capture_on_commit_callbacks,
):
    course, week_two = _course(release_at=OPENS)
    paris = _learner(
        course, zone="Europe/Paris", email="ana@example.com", enrolled_at=OPENS - timedelta(days=9)
    )
    new_york = _learner(
        course,
        zone="America/New_York",
        email="bo@example.com",
        enrolled_at=OPENS - timedelta(days=9),
    )

    before = _send(django_capture_on_commit_callbacks, now=OPENS - MINUTE)
    first = _send(django_capture_on_commit_callbacks, now=OPENS + MINUTE)
    again = _send(django_capture_on_commit_callbacks, now=OPENS + 10 * MINUTE)

    assert (before, first, again) == (0, 2, 0)
    notices = SectionReleaseNotice.objects.filter(section=week_two)
    assert sorted(notices.values_list("user__email", "opened_at")) == [
        ("ana@example.com", OPENS),
        ("bo@example.com", OPENS),
    ]
    by_user = {n.user_id: n for n in Notification.objects.filter(kind="section_released")}
    assert set(by_user) == {paris.pk, new_york.pk}
    ana = by_user[paris.pk]
    assert ana.title == "Now open: Week 2"
    assert ana.body == (
        "“Week 2” in “Salsa basics” opened for you on Monday 3 March 2025, 10:00 "
        "(Europe/Paris). Start with “Cross-body lead”."
    )
    assert ana.url == "/courses/salsa/cross-body/"  # its first visible lesson
    assert "Monday 3 March 2025, 04:00 (America/New_York)" in by_user[new_york.pk].body
    emails = {email.to[0]: email for email in mail.outbox}
    assert sorted(emails) == ["ana@example.com", "bo@example.com"]
    html = emails["ana@example.com"].alternatives[0][0]
    assert emails["ana@example.com"].subject == "Now open: Week 2"
    assert "Monday 3 March 2025, 10:00 (Europe/Paris)" in emails["ana@example.com"].body
    assert "Monday 3 March 2025, 10:00 (Europe/Paris)" in html
    assert "http://127.0.0.1:8000/courses/salsa/cross-body/" in emails["ana@example.com"].body
    assert "04:00 (America/New_York)" in emails["bo@example.com"].body


def test_days_after_enrollment_count_from_each_learners_own_enrollment(
    django_capture_on_commit_callbacks,
):
    course, _week_two = _course(release_after_days=3)
    early = _learner(course, enrolled_at=OPENS - timedelta(days=3))
    late = _learner(course, enrolled_at=OPENS - timedelta(days=1))

    at_opening = _send(django_capture_on_commit_callbacks, now=OPENS + MINUTE)
    two_days_later = _send(django_capture_on_commit_callbacks, now=OPENS + timedelta(days=2))

    assert (at_opening, two_days_later) == (1, 1)
    assert dict(SectionReleaseNotice.objects.values_list("user_id", "opened_at")) == {
        early.pk: OPENS,
        late.pk: OPENS + timedelta(days=2),
    }


def test_a_cohort_release_opens_at_midnight_of_the_start_day_in_the_learners_zone(
    django_capture_on_commit_callbacks,
):
    course, _week_two = _course(release_after_days=2, release_from=Section.ReleaseFrom.COHORT)
    cohort = Cohort.objects.create(course=course, name="March", starts_on=date(2025, 3, 1))
    tokyo = _learner(course, zone="Asia/Tokyo", enrolled_at=OPENS - timedelta(days=20))
    CohortMembership.objects.create(cohort=cohort, course=course, user=tokyo)
    # 3 March 2025, 00:00 in Tokyo is 2 March, 15:00 UTC.
    midnight_in_tokyo = datetime(2025, 3, 2, 15, 0, tzinfo=UTC)

    before = _send(django_capture_on_commit_callbacks, now=midnight_in_tokyo - MINUTE)
    after = _send(django_capture_on_commit_callbacks, now=midnight_in_tokyo + MINUTE)

    assert (before, after) == (0, 1)
    [notification] = Notification.objects.filter(user=tokyo, kind="section_released")
    assert "Monday 3 March 2025, 00:00 (Asia/Tokyo)" in notification.body


def test_nobody_is_told_about_what_stays_closed_to_them_or_is_not_theirs(
    django_capture_on_commit_callbacks,
):
    course, week_two = _course(release_at=OPENS)
    hidden = SectionFactory(
        course=course, order=2, title="Secret", release_at=OPENS, is_hidden=True
    )
    LessonFactory(section=hidden, order=0, slug="secret")
    gated = SectionFactory(course=course, order=3, title="Week 3", release_at=OPENS)
    gated.prerequisites.set([week_two])
    LessonFactory(section=gated, order=0, slug="spins")
    enrolled_before = OPENS - timedelta(days=5)
    told = _learner(course, enrolled_at=enrolled_before)
    gone = _learner(course, enrolled_at=enrolled_before)
    gone.enrollments.update(unenrolled_at=OPENS - timedelta(days=1))
    unlocked = _learner(course, enrolled_at=enrolled_before)
    SectionUnlock.objects.create(section=week_two, user=unlocked)
    UserFactory()  # not enrolled at all
    paid = CourseFactory(
        slug="paid", visibility=Course.Visibility.PAID, required_tier=TierFactory(rank=2)
    )
    paid_section = SectionFactory(course=paid, order=0, release_at=OPENS)
    LessonFactory(section=paid_section, order=0, slug="paid-lesson")
    _learner(paid, enrolled_at=enrolled_before)  # enrolled, but their tier does not open it

    sent = _send(django_capture_on_commit_callbacks, now=OPENS + MINUTE)

    assert sent == 1
    assert list(SectionReleaseNotice.objects.values_list("user_id", "section_id")) == [
        (told.pk, week_two.pk)
    ]
    assert len(mail.outbox) == 1


def test_a_section_waiting_for_a_prerequisite_is_announced_once_it_opens(
    django_capture_on_commit_callbacks,
):
    course = CourseFactory(slug="salsa")
    first = SectionFactory(course=course, order=0, title="Week 1")
    basic = LessonFactory(section=first, order=0, slug="basic-step")
    later = SectionFactory(course=course, order=1, title="Week 2", release_at=OPENS)
    LessonFactory(section=later, order=0, slug="turns")
    later.prerequisites.set([first])
    learner = _learner(course, enrolled_at=OPENS - timedelta(days=5))

    while_locked = _send(django_capture_on_commit_callbacks, now=OPENS + MINUTE)
    with django_capture_on_commit_callbacks(execute=True):
        lesson_complete(user=learner, lesson=basic)
    once_completed = _send(django_capture_on_commit_callbacks, now=OPENS + timedelta(hours=1))

    assert (while_locked, once_completed) == (0, 1)
    assert SectionReleaseNotice.objects.get().opened_at == OPENS


def test_releases_older_than_the_window_are_not_announced_late(
    django_capture_on_commit_callbacks,
):
    course, _week_two = _course(release_at=OPENS)
    _learner(course, enrolled_at=OPENS - timedelta(days=30))
    days = settings.LMS_RELEASE_NOTICE_WINDOW_DAYS

    late = _send(django_capture_on_commit_callbacks, now=OPENS + timedelta(days=days, hours=1))

    assert late == 0
    assert not SectionReleaseNotice.objects.exists()


def test_a_learner_who_chose_a_digest_gets_the_notice_in_app_and_no_email_now(
    django_capture_on_commit_callbacks,
):
    course, _week_two = _course(release_at=OPENS)
    learner = _learner(course, enrolled_at=OPENS - timedelta(days=5))
    NotificationPreference.objects.create(
        user=learner, kind="section_released", delivery=Delivery.DAILY
    )

    _send(django_capture_on_commit_callbacks, now=OPENS + MINUTE)

    [notification] = Notification.objects.filter(user=learner)
    assert (notification.kind, notification.email_delivery) == ("section_released", "daily")
    assert mail.outbox == []


def test_the_beat_task_sends_the_notices_and_is_scheduled(django_capture_on_commit_callbacks):
    just_now = timezone.now() - MINUTE
    course, _week_two = _course(release_at=just_now)
    _learner(course, enrolled_at=just_now - timedelta(days=5))

    with django_capture_on_commit_callbacks(execute=True):
        result = release_notices_task.delay()

    assert result.get() == 1
    assert len(mail.outbox) == 1
    assert settings.CELERY_BEAT_SCHEDULE["progress-section-release-notices"] == {
        "task": "progress.tasks.section_release_notices_send",
        "schedule": settings.LMS_RELEASE_NOTICE_SECONDS,
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_beat_runs_send_each_notice_once():
    course, week_two = _course(release_at=OPENS)
    learners = [
        _learner(course, enrolled_at=OPENS - timedelta(days=5), email=f"l{n}@example.com")
        for n in range(3)
    ]

    results = run_together(
        [lambda: section_release_notices_send(now=OPENS + MINUTE) for _ in range(4)]
    )

    assert sum(results) == 3
    assert SectionReleaseNotice.objects.filter(section=week_two).count() == 3
    assert Notification.objects.filter(kind="section_released").count() == 3
    assert OutboundEmail.objects.count() == 3
    assert sorted(email.to[0] for email in mail.outbox) == sorted(u.email for u in learners)
