"""The access policy: one table of who may see and open what."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.access import (
    Reason,
    course_access,
    course_is_visible,
    lesson_access,
    lesson_is_visible,
)
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory

pytestmark = pytest.mark.django_db

PUBLIC, MEMBERS, PAID = Course.Visibility.PUBLIC, Course.Visibility.MEMBERS, Course.Visibility.PAID


@pytest.fixture
def people():
    instructor = UserFactory()
    return {
        "anonymous": AnonymousUser(),
        "learner": UserFactory(),
        "instructor": instructor,
        "staff": UserFactory(is_staff=True),
    }


def _lesson(visibility, *, preview=False, instructor=None, **course_kwargs):
    tier = TierFactory() if visibility == PAID else None
    course = CourseFactory(
        visibility=visibility,
        required_tier=tier,
        instructors=[instructor] if instructor else [],
        **course_kwargs,
    )
    return LessonFactory(section__course=course, is_free_preview=preview)


@pytest.mark.parametrize(
    ("visibility", "who", "allowed", "reason"),
    [
        (PUBLIC, "anonymous", True, Reason.PUBLIC),
        (PUBLIC, "learner", True, Reason.PUBLIC),
        (MEMBERS, "anonymous", False, Reason.LOGIN_REQUIRED),
        (MEMBERS, "learner", True, Reason.MEMBER),
        (MEMBERS, "instructor", True, Reason.INSTRUCTOR),
        (MEMBERS, "staff", True, Reason.STAFF),
        (PAID, "anonymous", False, Reason.LOGIN_REQUIRED),
        (PAID, "learner", False, Reason.UPGRADE_REQUIRED),
        (PAID, "instructor", True, Reason.INSTRUCTOR),
        (PAID, "staff", True, Reason.STAFF),
    ],
)
def test_lesson_access_matrix(people, visibility, who, allowed, reason):
    lesson = _lesson(visibility, instructor=people["instructor"])

    decision = lesson_access(user=people[who], course=lesson.course, lesson=lesson)

    assert (decision.allowed, decision.reason) == (allowed, reason)


@pytest.mark.parametrize(
    ("visibility", "who"),
    [(MEMBERS, "anonymous"), (PAID, "anonymous"), (PAID, "learner")],
)
def test_free_preview_lessons_open_where_the_course_is_locked(people, visibility, who):
    lesson = _lesson(visibility, preview=True)

    decision = lesson_access(user=people[who], course=lesson.course, lesson=lesson)

    assert decision.allowed and decision.reason == Reason.PREVIEW


def test_locked_paid_lessons_name_the_tier_to_get(people):
    lesson = _lesson(PAID)

    decision = lesson_access(user=people["learner"], course=lesson.course, lesson=lesson)

    assert decision.locked and decision.required_tier == lesson.course.required_tier


@pytest.mark.parametrize(
    ("who", "visible"),
    [("anonymous", False), ("learner", False), ("instructor", True), ("staff", True)],
)
def test_draft_courses_exist_only_for_their_editors(people, who, visible):
    course = CourseFactory(draft=True, instructors=[people["instructor"]])

    assert course_is_visible(user=people[who], course=course) is visible


def test_an_instructor_of_another_course_cannot_see_a_draft(people):
    CourseFactory(instructors=[people["instructor"]])
    draft = CourseFactory(draft=True)

    assert not course_is_visible(user=people["instructor"], course=draft)


@pytest.mark.parametrize("who", ["anonymous", "learner"])
def test_archived_courses_stay_reachable(people, who):
    course = CourseFactory(status=Course.Status.ARCHIVED)

    assert course_is_visible(user=people[who], course=course)
    assert course_access(user=people[who], course=course).allowed


@pytest.mark.parametrize(("who", "visible"), [("learner", False), ("staff", True)])
def test_unpublished_lessons_are_hidden_from_learners(people, who, visible):
    lesson = LessonFactory(is_published=False)

    assert lesson_is_visible(user=people[who], course=lesson.course, lesson=lesson) is visible
