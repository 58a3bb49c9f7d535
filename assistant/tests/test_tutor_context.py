"""Retrieval and prompt building, without the provider: which lessons a question reads (best
first, within the budget, only those the learner may open) and how citations map back."""

import pytest

from accounts.tests.factories import UserFactory
from assistant.services.tutor_context import (
    Source,
    citations_from,
    tutor_messages_build,
    tutor_sources_for,
)
from assistant.tests.tutor_fixtures import learner_with_tier, school_build
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db


def test_the_lesson_itself_comes_first_then_the_best_matching_open_lessons():
    course = CourseFactory(visibility=Course.Visibility.MEMBERS)
    section = SectionFactory(course=course)
    lesson = LessonFactory(section=section, title="Basic step", body="Step forward on one.")
    LessonFactory(section=section, title="Turns", body="Spins and turns, nothing on timing.")
    best = LessonFactory(section=section, title="Clave rhythm", body="The clave rhythm: 3-2 clave.")
    LessonFactory(section=section, title="Styling", body="Arms and shoulders.")

    sources = tutor_sources_for(
        user=UserFactory(), lesson=lesson, question="What is the clave rhythm?"
    )

    assert [source.lesson_id for source in sources][:2] == [lesson.pk, best.pk]
    assert [source.number for source in sources] == list(range(1, len(sources) + 1))
    assert "Arms and shoulders" not in " ".join(source.text for source in sources)


def test_sources_stay_within_the_character_budget_and_the_number_of_lessons(settings):
    settings.LMS_TUTOR_CONTEXT_CHARS = 2000
    settings.LMS_TUTOR_SOURCES = 3
    section = SectionFactory(course=CourseFactory())
    lesson = LessonFactory(section=section, body="timing " * 1000)
    for index in range(6):
        LessonFactory(section=section, title=f"Timing {index}", body="timing beat " * 500)

    sources = tutor_sources_for(user=UserFactory(), lesson=lesson, question="timing")

    assert len(sources) == 3
    assert sum(len(source.text) for source in sources) <= 2000 + 3 * len(" …")


def test_a_question_without_searchable_words_reads_the_lesson_alone():
    school = school_build()

    sources = tutor_sources_for(user=UserFactory(), lesson=school.preview, question="?? !")

    assert [source.lesson_id for source in sources] == [school.preview.pk]


def test_locked_unpublished_and_other_courses_lessons_are_never_sources():
    school = school_build()
    question = "salsa timing basic step secrets draft another course or not"

    learner = tutor_sources_for(user=UserFactory(), lesson=school.preview, question=question)
    entitled = tutor_sources_for(
        user=learner_with_tier(school.tier), lesson=school.preview, question=question
    )

    assert {s.lesson_id for s in learner} == {school.preview.pk, school.open_lesson.pk}
    assert {s.lesson_id for s in entitled} == {
        school.preview.pk,
        school.open_lesson.pk,
        school.locked.pk,
    }


def test_the_messages_hold_the_rules_the_numbered_sources_the_history_and_the_question():
    school = school_build()
    sources = [
        Source(1, school.preview.pk, "Timing", "/t/", "Break on one."),
        Source(2, school.open_lesson.pk, "Lead", "/l/", "Lead with the frame."),
    ]

    messages = tutor_messages_build(
        lesson=school.preview,
        sources=sources,
        history=[("user", "Earlier?"), ("assistant", "Earlier answer.")],
        question="Now?",
    )

    assert [m["role"] for m in messages] == ["system", "system", "user", "assistant", "user"]
    assert '"Timing" of the course "Salsa Foundations"' in messages[0]["content"]
    assert messages[1]["content"] == (
        "Lesson excerpts:\n\n[1] Timing (the lesson being studied)\nBreak on one.\n\n"
        "[2] Lead\nLead with the frame."
    )
    assert messages[-1] == {"role": "user", "content": "Now?"}


def test_citations_keep_the_numbers_the_answer_used_and_drop_unknown_ones():
    sources = [Source(n, f"id-{n}", f"Lesson {n}", f"/l/{n}/", "text") for n in (1, 2, 3)]

    cited = citations_from(answer="See [3] and [1], again [3], not [7] or [x].", sources=sources)

    assert cited == [
        {"number": 1, "lesson": "id-1", "title": "Lesson 1", "url": "/l/1/"},
        {"number": 3, "lesson": "id-3", "title": "Lesson 3", "url": "/l/3/"},
    ]
