"""Catalog writes: creating, publishing, ordering and editing courses, sections and lessons."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson, Section
from catalog.services import (
    course_create,
    course_publish,
    course_update,
    courses_set_status,
    lesson_create,
    lesson_move,
    lesson_update,
    lessons_reorder,
    orders_apply,
    section_create,
    section_move,
    section_update,
    sections_reorder,
)
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)

pytestmark = pytest.mark.django_db


def orders(queryset) -> list[tuple[str, int]]:
    return list(queryset.order_by("order").values_list("title", "order"))


# --- Courses ---------------------------------------------------------------------------


def test_course_create_makes_a_draft_with_a_slug_from_the_title():
    teacher = UserFactory()

    course = course_create(title="Salsa On1: First Steps", instructors=[teacher])

    course.refresh_from_db()
    assert (course.slug, course.status, course.published_at) == (
        "salsa-on1-first-steps",
        Course.Status.DRAFT,
        None,
    )
    assert list(course.instructors.all()) == [teacher]


def test_course_create_refuses_a_paid_course_without_a_tier():
    with pytest.raises(ValidationError) as error:
        course_create(title="Pro", visibility=Course.Visibility.PAID)

    assert "A paid course needs a required tier." in str(error.value)
    assert not Course.objects.exists()


def test_course_create_refuses_a_taken_slug():
    CourseFactory(slug="bachata")

    with pytest.raises(ValidationError):
        course_create(title="Bachata")


def test_publishing_dates_drafts_and_counts_only_the_changed_ones():
    drafts = CourseFactory.create_batch(2, draft=True)
    CourseFactory()

    count = courses_set_status(courses=Course.objects.all(), status=Course.Status.PUBLISHED)

    assert count == 2
    for course in drafts:
        course.refresh_from_db()
        assert course.status == Course.Status.PUBLISHED
        assert course.published_at is not None


def test_republishing_keeps_the_first_publication_date():
    first = timezone.now() - timedelta(days=90)
    course = CourseFactory(published_at=first)
    only_this = Course.objects.filter(pk=course.pk)

    assert courses_set_status(courses=only_this, status=Course.Status.DRAFT) == 1
    course.refresh_from_db()
    assert (course.status, course.published_at) == (Course.Status.DRAFT, first)

    course_publish(course=course)
    assert (course.status, course.published_at) == (Course.Status.PUBLISHED, first)


def test_archiving_a_draft_dates_it_so_it_stays_valid():
    course = CourseFactory(draft=True)

    courses_set_status(courses=Course.objects.all(), status=Course.Status.ARCHIVED)

    course.refresh_from_db()
    assert course.status == Course.Status.ARCHIVED
    assert course.published_at is not None


def test_course_update_changes_only_what_it_is_given():
    course = CourseFactory(title="Old", subtitle="Keep me")
    teacher = UserFactory()

    course_update(course=course, data={"title": "New", "instructors": [teacher]})

    course.refresh_from_db()
    assert (course.title, course.subtitle) == ("New", "Keep me")
    assert list(course.instructors.all()) == [teacher]


def test_course_update_publishes_through_the_status_rule():
    course = CourseFactory(draft=True)

    course_update(course=course, data={"status": Course.Status.PUBLISHED})

    assert course.status == Course.Status.PUBLISHED
    assert course.published_at is not None


def test_course_update_validates_visibility_and_tier_together():
    course = CourseFactory()

    with pytest.raises(ValidationError):
        course_update(course=course, data={"visibility": Course.Visibility.PAID})

    tier = TierFactory()
    course_update(course=course, data={"visibility": "paid", "required_tier": tier})
    course.refresh_from_db()
    assert course.required_tier == tier


def test_course_update_refuses_fields_it_does_not_edit():
    course = CourseFactory()

    with pytest.raises(ValueError, match="published_at"):
        course_update(course=course, data={"published_at": timezone.now()})


# --- Sections and lessons: creating -------------------------------------------------------


def test_sections_are_created_at_the_end_of_the_course():
    course = CourseFactory()
    SectionFactory(course=course, order=4)

    section = section_create(course=course, title="Next")
    first_elsewhere = section_create(course=CourseFactory(), title="First")

    assert (section.order, first_elsewhere.order) == (5, 0)


def test_lessons_are_created_at_the_end_of_their_section_and_in_its_course():
    section = SectionFactory()
    LessonFactory(section=section, order=2)

    lesson = lesson_create(section=section, title="Cross Body Lead")

    lesson.refresh_from_db()
    assert (lesson.order, lesson.slug, lesson.course_id) == (
        3,
        "cross-body-lead",
        section.course_id,
    )


def test_the_first_lesson_of_a_section_gets_order_zero():
    assert lesson_create(section=SectionFactory(), title="Hello").order == 0


def test_lesson_create_refuses_a_slug_taken_in_the_same_course():
    course = course_with_lessons(1, sections=2)
    other_section = course.sections.get(order=1)

    with pytest.raises(ValidationError, match="Another lesson of this course has this slug"):
        lesson_create(section=other_section, title="Copy", slug="lesson-1")


def test_lesson_create_refuses_a_taken_order():
    lesson = LessonFactory(order=0)

    with pytest.raises(ValidationError, match="Another lesson of this section has this order"):
        lesson_create(section=lesson.section, title="Clash", order=0)


# --- Reordering ---------------------------------------------------------------------------


def test_lessons_reorder_puts_lessons_in_the_given_order():
    course = course_with_lessons(4)
    section = course.sections.get()
    one, two, three, four = section.lessons.order_by("order")

    lessons_reorder(section=section, lesson_ids=[four.pk, one.pk, three.pk, two.pk])

    assert orders(section.lessons) == [
        ("Lesson 4", 0),
        ("Lesson 1", 1),
        ("Lesson 3", 2),
        ("Lesson 2", 3),
    ]


def test_lessons_reorder_swaps_two_neighbours():
    course = course_with_lessons(2)
    section = course.sections.get()
    one, two = section.lessons.order_by("order")

    lessons_reorder(section=section, lesson_ids=[two.pk, one.pk])

    assert orders(section.lessons) == [("Lesson 2", 0), ("Lesson 1", 1)]


@pytest.mark.parametrize(
    "ids_for", [lambda ids: ids[:-1], lambda ids: [*ids, ids[0]], lambda ids: [*ids[:-1], "nope"]]
)
def test_lessons_reorder_refuses_a_list_that_is_not_the_sections_lessons(ids_for):
    course = course_with_lessons(3)
    section = course.sections.get()
    before = orders(section.lessons)

    with pytest.raises(ValidationError, match="every lesson of the section exactly once"):
        lessons_reorder(
            section=section, lesson_ids=ids_for(list(section.lessons.values_list("pk", flat=True)))
        )

    assert orders(section.lessons) == before


def test_lessons_reorder_refuses_a_lesson_of_another_section():
    course = course_with_lessons(2, sections=2)
    first, second = course.sections.order_by("order")
    stranger = second.lessons.get()

    with pytest.raises(ValidationError):
        lessons_reorder(section=first, lesson_ids=[first.lessons.get().pk, stranger.pk])


def test_sections_reorder_swaps_and_rotates():
    course = course_with_lessons(3, sections=3)
    a, b, c = course.sections.order_by("order")

    sections_reorder(course=course, section_ids=[c.pk, a.pk, b.pk])

    assert orders(course.sections) == [("Part 3", 0), ("Part 1", 1), ("Part 2", 2)]


def test_sections_reorder_refuses_a_missing_section():
    course = course_with_lessons(2, sections=2)
    first = course.sections.get(order=0)

    with pytest.raises(ValidationError, match="every section of the course exactly once"):
        sections_reorder(course=course, section_ids=[first.pk])


def test_orders_apply_swaps_orders_without_a_clash():
    course = course_with_lessons(3)
    section = course.sections.get()
    one, two, _three = section.lessons.order_by("order")

    orders_apply(queryset=Lesson.objects.filter(section=section), new_orders={one.pk: 1, two.pk: 0})

    assert orders(section.lessons) == [("Lesson 2", 0), ("Lesson 1", 1), ("Lesson 3", 2)]


def test_orders_apply_leaves_rows_of_other_parents_alone():
    course = course_with_lessons(2, sections=2)
    first, second = course.sections.order_by("order")
    stranger = second.lessons.get()

    orders_apply(queryset=Lesson.objects.filter(section=first), new_orders={stranger.pk: 7})

    stranger.refresh_from_db()
    assert stranger.order == 0


# --- Moving one step ----------------------------------------------------------------------


def test_lesson_move_down_and_up_swaps_with_the_neighbour():
    course = course_with_lessons(3)
    section = course.sections.get()
    first = section.lessons.get(order=0)

    assert lesson_move(lesson=first, direction="down") is True
    assert orders(section.lessons) == [("Lesson 2", 0), ("Lesson 1", 1), ("Lesson 3", 2)]
    assert lesson_move(lesson=first, direction="up") is True
    assert orders(section.lessons) == [("Lesson 1", 0), ("Lesson 2", 1), ("Lesson 3", 2)]


def test_lesson_move_at_the_ends_changes_nothing():
    course = course_with_lessons(3)
    section = course.sections.get()
    first, last = section.lessons.get(order=0), section.lessons.get(order=2)

    assert lesson_move(lesson=first, direction="up") is False
    assert lesson_move(lesson=last, direction="down") is False
    assert orders(section.lessons) == [("Lesson 1", 0), ("Lesson 2", 1), ("Lesson 3", 2)]


def test_lesson_move_skips_gaps_and_stays_in_its_section():
    section = SectionFactory()
    other = SectionFactory(course=section.course)
    low = LessonFactory(section=section, order=0, title="Low")
    LessonFactory(section=section, order=10, title="High")
    LessonFactory(section=other, order=5, title="Elsewhere")

    assert lesson_move(lesson=low, direction="down") is True

    assert orders(section.lessons) == [("High", 0), ("Low", 10)]
    assert orders(other.lessons) == [("Elsewhere", 5)]


def test_section_move_at_the_ends_and_in_the_middle():
    course = course_with_lessons(3, sections=3)
    first, middle, last = course.sections.order_by("order")

    assert section_move(section=first, direction="up") is False
    assert section_move(section=last, direction="down") is False
    assert section_move(section=middle, direction="up") is True

    assert orders(course.sections) == [("Part 2", 0), ("Part 1", 1), ("Part 3", 2)]


# --- Editing ------------------------------------------------------------------------------


def test_section_update_renames_and_refuses_a_taken_order():
    course = course_with_lessons(2, sections=2)
    first = course.sections.get(order=0)

    section_update(section=first, data={"title": "Warm-up"})
    with pytest.raises(ValidationError, match="Another section of this course has this order"):
        section_update(section=first, data={"order": 1})

    assert orders(Section.objects.filter(course=course)) == [("Warm-up", 0), ("Part 2", 1)]


def test_lesson_update_changes_fields_and_checks_the_slug_per_course():
    course = course_with_lessons(2)
    second = course.lessons.get(slug="lesson-2")

    lesson_update(lesson=second, data={"title": "Spins", "is_boss": True})
    with pytest.raises(ValidationError, match="Another lesson of this course has this slug"):
        lesson_update(lesson=second, data={"slug": "lesson-1"})

    second.refresh_from_db()
    assert (second.title, second.is_boss, second.slug) == ("Spins", True, "lesson-2")


def test_lesson_update_refuses_fields_it_does_not_edit():
    lesson = LessonFactory()

    with pytest.raises(ValueError, match="course"):
        lesson_update(lesson=lesson, data={"course": CourseFactory()})


def test_a_lessons_course_always_follows_its_section():
    lesson = LessonFactory(order=0)
    elsewhere = SectionFactory()

    lesson_update(lesson=lesson, data={}, section=elsewhere)
    created = lesson_create(section=elsewhere, title="Born here")

    lesson.refresh_from_db()
    assert lesson.section_id == created.section_id == elsewhere.pk
    assert lesson.course_id == created.course_id == elsewhere.course_id
    assert not Lesson.objects.exclude(course_id=F("section__course_id")).exists()
