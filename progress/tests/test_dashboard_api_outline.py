"""The dashboard API (issue 18): what staff change in the admin shows at once, one
learner's marks never appear for another, and its queries do not grow with course size."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from catalog.models import Lesson
from catalog.tests.factories import course_with_lessons
from catalog.tests.test_admin import move_url
from catalog.tests.test_api_outline import edit_lesson
from progress.models import Enrollment, LessonProgress

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/dashboard/"
# Session, user, enrollments, progress rows, the Continue lessons, certificates, stats, and
# the courses' rules on a cold cache: as before the compiled outline (test_dashboard's 12).
QUERY_BUDGET = 12


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def complete(user, lessons: list[Lesson]) -> None:
    LessonProgress.objects.bulk_create(
        LessonProgress(
            user=user,
            lesson=lesson,
            course=lesson.course,
            status=LessonProgress.Status.COMPLETED,
            completed_at=timezone.now(),
        )
        for lesson in lessons
    )


def only_course(body: dict) -> dict:
    (course,) = body["in_progress"]
    return course


def test_admin_edits_show_at_once_on_the_dashboard(
    staff_client, django_capture_on_commit_callbacks
):
    course = course_with_lessons(3, slug="salsa")
    first, _second, third = Lesson.objects.filter(course=course).order_by("order")
    learner = UserFactory()
    Enrollment.objects.create(user=learner, course=course)
    api = signed_in(learner)
    start = only_course(api.get(URL).json())
    assert (start["next_step"], start["next_lesson"]["lesson"]["title"]) == ("start", "Lesson 1")
    assert start["total_count"] == 3

    with django_capture_on_commit_callbacks(execute=True):
        edit_lesson(staff_client, first, title="Basic step")
    assert only_course(api.get(URL).json())["next_lesson"]["lesson"]["title"] == "Basic step"

    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(move_url(third, "up")).status_code == 302
        assert staff_client.post(move_url(third, "up")).status_code == 302
    assert only_course(api.get(URL).json())["next_lesson"]["lesson"] == {
        "id": str(third.pk),
        "slug": "lesson-3",
        "title": "Lesson 3",
    }

    with django_capture_on_commit_callbacks(execute=True):
        edit_lesson(staff_client, third, is_published=False)
    after = only_course(api.get(URL).json())
    assert after["total_count"] == 2
    assert after["next_lesson"]["lesson"]["title"] == "Basic step"

    with django_capture_on_commit_callbacks(execute=True):
        edit_lesson(staff_client, third, is_published=True)
    assert only_course(api.get(URL).json())["total_count"] == 3


def test_one_learners_marks_never_appear_on_anothers_dashboard():
    course = course_with_lessons(4, slug="salsa")
    lessons = list(Lesson.objects.filter(course=course).order_by("order"))
    ada, ben = UserFactory(), UserFactory()
    for learner in (ada, ben):
        Enrollment.objects.create(user=learner, course=course, last_activity_at=timezone.now())
    complete(ada, lessons[:2])

    for _ in range(2):  # cold, then with everything cacheable warm
        mine = only_course(signed_in(ada).get(URL).json())
        theirs = only_course(signed_in(ben).get(URL).json())
        assert (mine["completed_count"], mine["percent"], mine["next_step"]) == (2, 50, "next")
        assert mine["resume"]["lesson"]["slug"] == "lesson-3"
        assert (theirs["completed_count"], theirs["percent"], theirs["next_step"]) == (
            0,
            0,
            "start",
        )
        assert theirs["resume"] is None
        assert theirs["next_lesson"]["lesson"]["slug"] == "lesson-1"


def test_a_course_waiting_on_its_schedule_says_when_it_opens():
    course = course_with_lessons(2, sections=2, slug="salsa")
    _first_part, second_part = course.sections.order_by("order")
    second_part.release_after_days = 3
    second_part.save()
    learner = UserFactory()
    enrollment = Enrollment.objects.create(
        user=learner, course=course, last_activity_at=timezone.now()
    )
    complete(learner, [Lesson.objects.get(course=course, slug="lesson-1")])

    item = only_course(signed_in(learner).get(URL).json())

    opens_at = enrollment.created_at + timedelta(days=3)
    assert (item["next_step"], item["next_lesson"], item["resume"]) == ("wait", None, None)
    assert item["waiting"] == {
        "code": "LOCKED_UNTIL",
        "requires": [],
        "opens_at": opens_at.isoformat().replace("+00:00", "Z"),
        "opens_after_days": None,
    }


def _dashboard_queries(api: APIClient, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(QUERY_BUDGET) as captured:
        response = api.get(URL)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_dashboard_api_costs_the_same_queries_for_20_and_200_lesson_courses(
    django_assert_max_num_queries,
):
    counts = {}
    for size in (20, 200):
        course = course_with_lessons(size, sections=4, slug=f"c{size}", progression="lessons")
        learner = UserFactory()
        Enrollment.objects.create(user=learner, course=course, last_activity_at=timezone.now())
        complete(learner, list(Lesson.objects.filter(course=course).order_by("order")[:5]))
        api = signed_in(learner)
        counts[size] = (
            _dashboard_queries(api, django_assert_max_num_queries),  # cold
            _dashboard_queries(api, django_assert_max_num_queries),  # warm
        )
        item = only_course(api.get(URL).json())
        assert (item["completed_count"], item["total_count"]) == (5, size)
    assert counts[20] == counts[200]
