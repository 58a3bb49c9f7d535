import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from billing.tests.factories import TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db


def test_a_paid_course_must_name_a_tier():
    with pytest.raises(IntegrityError):
        CourseFactory(visibility=Course.Visibility.PAID, required_tier=None)


def test_a_paid_course_without_tier_is_a_form_error_before_the_database():
    course = CourseFactory.build(visibility=Course.Visibility.PAID, required_tier=None)

    with pytest.raises(ValidationError, match="A paid course needs a required tier"):
        course.full_clean()


def test_a_paid_course_with_a_tier_is_valid():
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())

    assert course.required_tier.rank >= 1


def test_a_published_course_needs_a_publication_date():
    with pytest.raises(IntegrityError):
        CourseFactory(status=Course.Status.PUBLISHED, published_at=None)


def test_section_order_is_unique_per_course_but_not_across_courses():
    first = SectionFactory(order=1)
    SectionFactory(order=1)  # another course: fine

    with pytest.raises(IntegrityError):
        SectionFactory(course=first.course, order=1)


def test_lesson_order_is_unique_per_section():
    lesson = LessonFactory(order=3)

    with pytest.raises(IntegrityError):
        LessonFactory(section=lesson.section, order=3)


def test_lesson_slug_is_unique_per_course_across_sections():
    lesson = LessonFactory(slug="warm-up")
    other_section = SectionFactory(course=lesson.course)
    LessonFactory(slug="warm-up")  # another course: fine

    with pytest.raises(IntegrityError):
        LessonFactory(section=other_section, slug="warm-up")


def test_a_lesson_cannot_sit_in_another_courses_section():
    lesson = LessonFactory.build(section=SectionFactory(), course=CourseFactory())

    with pytest.raises(ValidationError) as excinfo:
        lesson.full_clean()

    assert "section" in excinfo.value.message_dict


def test_urls_use_slugs():
    lesson = LessonFactory(section__course__slug="salsa", slug="basic-step")

    assert lesson.course.get_absolute_url() == "/courses/salsa/"
    assert lesson.get_absolute_url() == "/courses/salsa/basic-step/"
