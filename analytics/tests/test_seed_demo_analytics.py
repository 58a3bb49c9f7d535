"""The demo school's analytics (`seed_demo` runs `seed_demo_analytics`): demo learners with
a month of activity, so a demo course's dashboard shows enrollments, a funnel, video
retention, rewatched parts and quiz items at once; a rerun adds nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import User
from analytics import selectors
from analytics.models import CourseDay, Event
from catalog.models import Course
from progress.models import Enrollment, LessonProgress, QuizAttempt

pytestmark = pytest.mark.django_db

LEARNERS = 8


@pytest.fixture(autouse=True)
def _development_site(settings):
    settings.DEBUG = True  # seed_demo refuses to run with DEBUG off


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", f"--analytics-learners={LEARNERS}", stdout=out)
    return out.getvalue()


def _rows() -> dict[str, set]:
    return {
        "users": set(User.objects.values_list("pk", "email")),
        "events": set(Event.objects.values_list("event_id", "type", "occurred_at")),
        "enrollments": set(Enrollment.objects.values_list("pk", "created_at")),
        "progress": set(
            LessonProgress.objects.values_list("pk", "status", "watched_seconds", "updated_at")
        ),
        "attempts": set(QuizAttempt.objects.values_list("pk", "score", "created_at")),
        "rollups": set(
            CourseDay.objects.values_list(
                "course_id", "day", "enrollments", "active_learners", "lessons_completed"
            )
        ),
    }


def test_a_demo_course_dashboard_has_data_in_every_chart(client):
    output = _seed()

    assert f"Analytics demo: {LEARNERS} demo learners added" in output
    assert User.objects.filter(email__startswith="demo-learner-").count() == LEARNERS
    course = Course.objects.get(slug="salsa-foundations")
    period = selectors.period_last(30)

    series = selectors.course_activity_series(course_id=course.pk, period=period)
    assert sum(point.enrollments for point in series) > 0
    assert sum(point.active_learners for point in series) > 0
    assert sum(point.lessons_completed for point in series) > 0
    assert len({point.day for point in series if point.active_learners}) > 3  # spread out

    funnel = selectors.course_funnel(course_id=course.pk, period=period)
    shares = [step.share for step in funnel]
    assert shares[0] > 0
    assert shares[0] > shares[-1]  # learners drop off along the course

    video = selectors.video_lessons(course_id=course.pk)[0]
    retention = selectors.video_retention(lesson_id=video.lesson_id, period=period)
    assert retention.viewers > 0
    assert retention.points[0].share == 1.0
    assert retention.points[-1].share < 1.0  # some stop watching part way
    segments = [
        segment
        for ref in selectors.video_lessons(course_id=course.pk)
        for segment in selectors.video_segments(lesson_id=ref.lesson_id, period=period)
    ]
    assert any(segment.rewatches for segment in segments)

    # With a handful of learners, not every course's quiz is reached: some quiz is.
    items = [
        item
        for demo_course in Course.objects.all()
        for quiz in selectors.quiz_lessons(course_id=demo_course.pk)
        for item in selectors.quiz_items(lesson_id=quiz.lesson_id, period=period)
    ]
    assert any(item.attempts > 0 for item in items)
    assert any(0 < item.correct_share < 1 and item.top_wrong_answer for item in items)

    # The demo instructor signs in and opens the course's dashboard.
    assert client.login(email="instructor@example.com", password="demo-instructor-2024")
    page = client.get(reverse("admin:analytics_coursedashboard_dashboard", args=[course.pk]))
    assert page.status_code == 200
    assert course.title in page.content.decode()


def test_running_twice_adds_nothing():
    _seed()
    first = _rows()

    output = _seed()

    assert _rows() == first
    assert f"0 demo learners added ({LEARNERS} were there already)" in output


def test_demo_learners_cannot_sign_in_and_get_no_email(mailoutbox):
    _seed()

    learners = User.objects.filter(email__startswith="demo-learner-")
    assert learners.count() == LEARNERS
    assert not any(learner.has_usable_password() for learner in learners)
    assert not [mail for mail in mailoutbox if "demo-learner-" in " ".join(mail.to)]


def test_needs_the_demo_school():
    with pytest.raises(CommandError, match=r"run `manage\.py seed_demo` first"):
        call_command("seed_demo_analytics", stdout=StringIO())
