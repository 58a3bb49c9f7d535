import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.search import course_search
from catalog.selectors import (
    course_get,
    course_list,
    course_outline_get,
    lesson_get,
    lesson_get_by_id,
)
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)
from lms.errors import ErrorCode, NotFoundError

pytestmark = pytest.mark.django_db


def test_course_list_shows_only_published_courses_with_published_lesson_totals():
    course = CourseFactory(title="Salsa")
    LessonFactory(section__course=course, duration_seconds=120)
    LessonFactory(section__course=course, duration_seconds=60, is_published=False)
    CourseFactory(draft=True)
    CourseFactory(status=Course.Status.ARCHIVED)

    [listed] = course_list()

    assert listed == course
    assert (listed.lesson_count, listed.total_duration_seconds) == (1, 120)


def test_course_list_filters_by_type_and_difficulty():
    wanted = CourseFactory(course_type="choreo", difficulty="advanced")
    CourseFactory(course_type="choreo", difficulty="beginner")
    CourseFactory(course_type="topic", difficulty="advanced")

    assert list(course_list(course_type="choreo", difficulty="advanced")) == [wanted]


def test_course_list_search_matches_title_subtitle_and_description():
    by_title = CourseFactory(title="Bachata Sensual", subtitle="", description="")
    by_subtitle = CourseFactory(title="Partnerwork", subtitle="Bachata turns", description="")
    by_body = CourseFactory(title="Footwork", subtitle="", description="Drills for bachata.")
    CourseFactory(title="Python basics", subtitle="", description="Loops.")

    found = set(course_list(search="bachata"))

    assert found == {by_title, by_subtitle, by_body}


def test_course_list_search_requires_every_word():
    both = CourseFactory(title="Salsa on two", description="Timing drills")
    CourseFactory(title="Salsa on one", description="Shines")

    assert list(course_list(search="salsa timing")) == [both]


@pytest.mark.postgres
def test_postgres_search_stems_words_and_ranks_title_matches_first():
    in_description = CourseFactory(title="Footwork", description="Endless spinning exercises.")
    in_title = CourseFactory(title="Spins and turns", description="Partner work.")

    assert list(course_list(search="spin")) == [in_title, in_description]


@pytest.mark.postgres
def test_postgres_search_uses_the_gin_index():
    CourseFactory.create_batch(3)
    queryset = course_search(Course.objects.all(), text="salsa")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()

    assert "course_search_gin" in plan


def test_course_get_hides_drafts_from_learners_and_unknown_slugs():
    draft = CourseFactory(draft=True)

    for slug in (draft.slug, "no-such-course"):
        with pytest.raises(NotFoundError) as excinfo:
            course_get(user=UserFactory(), slug=slug)
        assert excinfo.value.code == ErrorCode.COURSE_NOT_FOUND

    assert course_get(user=UserFactory(is_staff=True), slug=draft.slug) == draft


def test_outline_orders_sections_and_lessons_and_numbers_them_across_sections():
    course = CourseFactory()
    second = SectionFactory(course=course, order=2, title="Second")
    first = SectionFactory(course=course, order=1, title="First")
    b = LessonFactory(section=second, order=0, title="B")
    a2 = LessonFactory(section=first, order=5, title="A2")
    a1 = LessonFactory(section=first, order=1, title="A1")

    outline = course_outline_get(user=AnonymousUser(), course=course)

    assert [s.section.title for s in outline.sections] == ["First", "Second"]
    assert [(item.lesson, item.number) for item in outline.lessons] == [(a1, 1), (a2, 2), (b, 3)]
    assert outline.neighbours(a2) == (outline.lessons[0], outline.lessons[2])
    assert outline.neighbours(a1)[0] is None and outline.neighbours(b)[1] is None


def test_outline_leaves_out_unpublished_lessons_except_for_staff():
    lesson = LessonFactory(is_published=False)
    course = lesson.course

    assert course_outline_get(user=UserFactory(), course=course).lesson_count == 0
    assert course_outline_get(user=UserFactory(is_staff=True), course=course).lesson_count == 1


def test_outline_of_a_course_without_lessons_is_empty():
    outline = course_outline_get(user=AnonymousUser(), course=CourseFactory())

    assert (outline.lesson_count, outline.duration_seconds, outline.first_lesson) == (0, 0, None)


@pytest.mark.parametrize("lesson_count", [5, 200])
def test_outline_takes_the_same_few_queries_whatever_the_course_size(
    lesson_count, django_assert_num_queries
):
    course = course_with_lessons(lesson_count, sections=4, visibility="members")
    learner = UserFactory()
    course = course_get(user=learner, slug=course.slug)

    with django_assert_num_queries(2):
        outline = course_outline_get(user=learner, course=course)
        assert all(not item.locked for item in outline.lessons)

    assert outline.lesson_count == lesson_count


def test_lesson_get_and_by_id_raise_lesson_not_found_for_hidden_or_unknown_lessons():
    hidden = LessonFactory(is_published=False)
    learner = UserFactory()

    with pytest.raises(NotFoundError) as excinfo:
        lesson_get(user=learner, course=hidden.course, slug=hidden.slug)
    assert excinfo.value.code == ErrorCode.LESSON_NOT_FOUND
    for lesson_id in (hidden.pk, "not-a-uuid", "6f1c7f0e-0000-4000-8000-000000000000"):
        with pytest.raises(NotFoundError):
            lesson_get_by_id(user=learner, lesson_id=lesson_id)


def test_lesson_by_id_in_a_draft_course_is_not_found_for_learners():
    lesson = LessonFactory(section__course=CourseFactory(draft=True))

    with pytest.raises(NotFoundError):
        lesson_get_by_id(user=UserFactory(), lesson_id=lesson.pk)
    assert lesson_get_by_id(user=UserFactory(is_staff=True), lesson_id=lesson.pk) == lesson
