"""Content versions (`catalog.outline.versions`): what keys compiled outlines and cached pages."""

import pytest
from django.core.cache import cache

from catalog import services
from catalog.outline import catalog_version_get, course_version_get, course_versions_get
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db


def test_editing_a_lesson_bumps_its_course_and_the_catalog_but_not_other_courses(
    django_capture_on_commit_callbacks,
):
    lesson = LessonFactory()
    other = CourseFactory()
    before = course_version_get(lesson.course_id), catalog_version_get()
    other_before = course_version_get(other.pk)

    with django_capture_on_commit_callbacks(execute=True):
        lesson.title = "Renamed"
        lesson.save()

    assert course_version_get(lesson.course_id) > before[0]
    assert catalog_version_get() > before[1]
    assert course_version_get(other.pk) == other_before


def test_a_bulk_reorder_no_model_signal_sees_bumps_the_version(django_capture_on_commit_callbacks):
    section = SectionFactory()
    first = LessonFactory(section=section, course=section.course, order=0)
    second = LessonFactory(section=section, course=section.course, order=1)
    before = course_version_get(section.course_id)

    with django_capture_on_commit_callbacks(execute=True):
        services.lessons_reorder(section=section, lesson_ids=[second.pk, first.pk])

    assert course_version_get(section.course_id) > before


def test_a_lost_counter_comes_back_newer_never_as_an_old_number():
    course = CourseFactory()
    seen = course_version_get(course.pk)
    cache.delete(f"catalog:version:course:{course.pk}")

    assert course_version_get(course.pk) > seen
    # and it is stable until the next change
    assert course_version_get(course.pk) == course_version_get(course.pk)


def test_versions_of_many_courses_come_in_one_call():
    courses = CourseFactory.create_batch(3)
    many = course_versions_get(course.pk for course in courses)

    assert many == {str(course.pk): course_version_get(course.pk) for course in courses}
