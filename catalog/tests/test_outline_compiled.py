"""The compiled outline (`catalog.outline.compiled`): plain data the cache can keep, built in
a fixed number of queries, reused until the course's content version moves, and holding the
API's fields of each section and lesson exactly as the course API shows them."""

import pickle

import pytest
from django.test import Client

from catalog.models import Course, Lesson, Section
from catalog.outline import outline_compiled_get
from catalog.tests.factories import course_with_lessons
from lms.tests.caches import cache_clear

pytestmark = pytest.mark.django_db


def test_a_compiled_outline_pickles_without_model_instances():
    course = course_with_lessons(6, sections=2, slug="salsa")
    compiled = outline_compiled_get(course=course)

    restored = pickle.loads(pickle.dumps(compiled))  # noqa: S301 - our own bytes, as the cache

    assert restored == compiled
    assert [lesson.slug for lesson in restored.lessons] == [
        "lesson-1",
        "lesson-3",
        "lesson-5",
        "lesson-2",
        "lesson-4",
        "lesson-6",
    ]
    assert b"model_unpickle" not in pickle.dumps(compiled)  # how Django pickles instances


@pytest.mark.parametrize("size", [5, 200])
def test_building_costs_the_same_few_queries_for_5_and_200_lessons(django_assert_num_queries, size):
    course = course_with_lessons(size, sections=5, slug=f"c-{size}")
    cache_clear()
    with django_assert_num_queries(2):  # sections, lessons (no prerequisite links)
        compiled = outline_compiled_get(course=course)
    assert len(compiled.lessons) == size
    again = Course.objects.get(pk=course.pk)
    with django_assert_num_queries(0):
        assert outline_compiled_get(course=again) == compiled


def test_a_content_change_builds_a_new_outline():
    course = course_with_lessons(3, slug="salsa")
    before = outline_compiled_get(course=course)
    lesson = Lesson.objects.get(course=course, slug="lesson-2")
    lesson.title = "Cross-body lead"
    lesson.save()

    after = outline_compiled_get(course=Course.objects.get(pk=course.pk))

    assert after.version != before.version
    assert after.lesson_by_slug["lesson-2"].title == "Cross-body lead"
    assert "Cross-body lead" in after.lesson_by_slug["lesson-2"].row


def test_titles_with_braces_and_markup_are_escaped_in_the_fragments():
    course = course_with_lessons(1, slug="salsa")
    Section.objects.filter(course=course).update(title="{Part} <one>")
    Lesson.objects.filter(course=course).update(title="{x} & <b>y</b>")
    compiled = outline_compiled_get(course=Course.objects.get(pk=course.pk))
    lesson, section = compiled.lessons[0], compiled.sections[0]

    row = lesson.row.format(classes="", number="1", current="", hidden_status="", tags="")
    summary = section.summary.format(open="", state="", meta="1 lesson")

    assert "{x} &amp; &lt;b&gt;y&lt;/b&gt;" in row
    assert "{Part} &lt;one&gt;" in summary


def test_the_api_payloads_are_the_course_apis_fields_that_are_the_same_for_everyone():
    course = course_with_lessons(4, sections=2, slug="salsa")
    Lesson.objects.filter(course=course, slug="lesson-3").update(
        is_free_preview=True, is_boss=True, xp_value=50
    )
    body = Client().get("/api/v1/courses/salsa/").json()
    compiled = outline_compiled_get(course=Course.objects.get(pk=course.pk))

    per_learner_section = {"locked", "lock", "lesson_count", "duration_seconds", "lessons"}
    per_learner_lesson = {"locked", "lock"}
    for section, expected in zip(compiled.sections, body["sections"], strict=True):
        assert section.payload == {
            key: value for key, value in expected.items() if key not in per_learner_section
        }
        lessons = [compiled.lesson_by_id[pk] for pk in section.lesson_ids]
        assert [lesson.payload for lesson in lessons] == [
            {key: value for key, value in row.items() if key not in per_learner_lesson}
            for row in expected["lessons"]
        ]
