"""Who may use the authoring API: signed in (401), an author (403 for learners), on their own
courses (404 for another instructor's, whatever the operation), deleting only as staff."""

import pytest

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson, Section
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from catalog.tests.manage_support import BASE, client_for, error, instructor_make, staff_make

pytestmark = pytest.mark.django_db

NOT_FOUND = {
    "COURSE_NOT_FOUND": "There is no course at this address.",
    "SECTION_NOT_FOUND": "There is no section with this id that you can edit.",
    "LESSON_NOT_FOUND": "There is no lesson at this address.",
    "QUESTION_NOT_FOUND": "There is no quiz question with this id that you can edit.",
}
# (method, path with the row it names, the code another instructor's row answers)
OPERATIONS = [
    ("get", "courses/{course}/", "COURSE_NOT_FOUND"),
    ("patch", "courses/{course}/", "COURSE_NOT_FOUND"),
    ("delete", "courses/{course}/", "COURSE_NOT_FOUND"),
    ("post", "courses/{course}/publish/", "COURSE_NOT_FOUND"),
    ("post", "courses/{course}/unpublish/", "COURSE_NOT_FOUND"),
    ("post", "courses/{course}/archive/", "COURSE_NOT_FOUND"),
    ("get", "courses/{course}/sections/", "COURSE_NOT_FOUND"),
    ("post", "courses/{course}/sections/", "COURSE_NOT_FOUND"),
    ("post", "courses/{course}/sections/order/", "COURSE_NOT_FOUND"),
    ("get", "sections/{section}/", "SECTION_NOT_FOUND"),
    ("patch", "sections/{section}/", "SECTION_NOT_FOUND"),
    ("delete", "sections/{section}/", "SECTION_NOT_FOUND"),
    ("get", "sections/{section}/lessons/", "SECTION_NOT_FOUND"),
    ("post", "sections/{section}/lessons/", "SECTION_NOT_FOUND"),
    ("post", "sections/{section}/lessons/order/", "SECTION_NOT_FOUND"),
    ("get", "lessons/{lesson}/", "LESSON_NOT_FOUND"),
    ("patch", "lessons/{lesson}/", "LESSON_NOT_FOUND"),
    ("delete", "lessons/{lesson}/", "LESSON_NOT_FOUND"),
    ("get", "lessons/{lesson}/quiz/", "LESSON_NOT_FOUND"),
    ("put", "lessons/{lesson}/quiz/", "LESSON_NOT_FOUND"),
    ("patch", "lessons/{lesson}/quiz/", "LESSON_NOT_FOUND"),
    ("post", "lessons/{lesson}/quiz/questions/", "LESSON_NOT_FOUND"),
    ("get", "questions/{question}/", "QUESTION_NOT_FOUND"),
    ("patch", "questions/{question}/", "QUESTION_NOT_FOUND"),
    ("delete", "questions/{question}/", "QUESTION_NOT_FOUND"),
]
COLLECTION = [("get", "courses/"), ("post", "courses/")]


@pytest.fixture
def rows():
    """A course of Bo's with a section, a quiz lesson and its questions."""
    bo = instructor_make("bo@example.com")
    course = CourseFactory(title="Bo's bachata", instructors=[bo])
    section = SectionFactory(course=course)
    lesson = LessonFactory(section=section, kind=Lesson.Kind.QUIZ)
    quiz = quiz_with_questions(lesson=lesson)
    return {
        "course": course.pk,
        "section": section.pk,
        "lesson": lesson.pk,
        "question": quiz.questions.first().pk,
    }


def _call(client, method: str, path: str, rows: dict):
    return getattr(client, method)(f"{BASE}/{path.format(**rows)}", {}, format="json")


def _untouched(rows: dict) -> None:
    course = Course.objects.get(pk=rows["course"])
    assert (course.title, course.status) == ("Bo's bachata", "published")
    assert Section.objects.filter(course=course).count() == 1
    assert Lesson.objects.filter(course=course).count() == 1


@pytest.mark.parametrize(("method", "path"), [*COLLECTION, *[op[:2] for op in OPERATIONS]])
def test_anonymous_callers_are_asked_to_sign_in(rows, method, path):
    response = _call(client_for(None), method, path, rows)

    assert response.status_code == 401
    assert response.json() == error("NOT_AUTHENTICATED", "Sign in to continue.")
    _untouched(rows)


@pytest.mark.parametrize(("method", "path"), [*COLLECTION, *[op[:2] for op in OPERATIONS]])
def test_learners_are_refused(rows, method, path):
    response = _call(client_for(UserFactory()), method, path, rows)

    assert response.status_code == 403
    assert response.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")
    _untouched(rows)


@pytest.mark.parametrize(("method", "path", "code"), OPERATIONS)
def test_another_instructors_course_does_not_exist_for_an_instructor(rows, method, path, code):
    ana = instructor_make()
    CourseFactory(instructors=[ana])  # Ana authors, just not this course

    response = _call(client_for(ana), method, path, rows)

    assert response.status_code == 404
    assert response.json() == error(code, NOT_FOUND[code])
    _untouched(rows)


@pytest.mark.parametrize("path", ["courses/{course}/", "sections/{section}/", "lessons/{lesson}/"])
def test_instructors_do_not_delete_their_own_courses_sections_or_lessons(path):
    ana = instructor_make()
    course = CourseFactory(title="Ana's salsa", instructors=[ana])
    lesson = LessonFactory(section=SectionFactory(course=course))
    rows = {"course": course.pk, "section": lesson.section_id, "lesson": lesson.pk}

    response = _call(client_for(ana), "delete", path, rows)

    assert response.status_code == 403
    assert response.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")
    assert Lesson.objects.filter(pk=lesson.pk).exists()


@pytest.mark.parametrize(("method", "path", "code"), OPERATIONS)
def test_staff_reach_every_course(rows, method, path, code):
    response = _call(client_for(staff_make()), method, path, rows)

    # Whatever the operation answers for an empty body, it is not "not found" nor "refused".
    assert response.status_code not in (401, 403, 404), response.json()


def test_a_moderator_is_no_author():
    moderator = user_role_set(user=UserFactory(), role=Role.MODERATOR, actor=None)

    response = client_for(moderator).get(f"{BASE}/courses/")

    assert response.status_code == 403
    assert response.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")
