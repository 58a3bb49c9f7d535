"""A small school for the tutor's tests: a paid course whose first lesson is a free preview
(open to a learner without the tier; the rest locked), a public course with a quiz, and
another course whose text must never reach a prompt about the first."""

import json
from dataclasses import dataclass

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.models import Tier
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)

# Words only one lesson's notes contain, to find where text went.
PREVIEW_NOTES = "Salsa timing: break on one, the basic step counts eight beats. PREVIEWWORD"
OPEN_NOTES = "Salsa timing: the cross body lead uses the basic step. OPENWORD"
LOCKED_NOTES = "Salsa timing secrets for the basic step on two: LOCKEDSECRET"
UNPUBLISHED_NOTES = "Salsa timing draft about the basic step: UNPUBLISHEDSECRET"
OTHER_COURSE_NOTES = "Salsa timing and the basic step in another course: OTHERCOURSESECRET"
QUIZ_NOTES = "This quiz checks salsa timing and the basic step. QUIZNOTES"


@dataclass
class School:
    tier: Tier
    paid: Course
    preview: Lesson  # free preview of the paid course: open to everyone signed in
    open_lesson: Lesson  # free preview too: open, cited
    locked: Lesson  # paid, not a preview: locked without the tier
    unpublished: Lesson
    other: Lesson  # another (public) course
    quiz_lesson: Lesson  # a public course's quiz lesson


def school_build() -> School:
    tier = TierFactory(name="Rookie", slug="rookie-t", rank=1)
    paid = CourseFactory(
        title="Salsa Foundations",
        visibility=Course.Visibility.PAID,
        required_tier=tier,
    )
    section = SectionFactory(course=paid, order=0, title="Basics")
    preview = LessonFactory(
        section=section, title="Timing", slug="timing", body=PREVIEW_NOTES, order=0,
        is_free_preview=True,
    )  # fmt: skip
    open_lesson = LessonFactory(
        section=section, title="Cross body lead", slug="cbl", body=OPEN_NOTES, order=1,
        is_free_preview=True,
    )  # fmt: skip
    locked = LessonFactory(
        section=section, title="On two", slug="on-two", body=LOCKED_NOTES, order=2
    )
    unpublished = LessonFactory(
        section=section, title="Draft", slug="draft", body=UNPUBLISHED_NOTES, order=3,
        is_free_preview=True, is_published=False,
    )  # fmt: skip
    other_course = CourseFactory(title="Bachata")
    other = LessonFactory(
        section=SectionFactory(course=other_course), body=OTHER_COURSE_NOTES, slug="other"
    )
    quiz_course = CourseFactory(title="Salsa Quizzes")
    quiz_lesson = LessonFactory(
        section=SectionFactory(course=quiz_course),
        kind=Lesson.Kind.QUIZ,
        title="Timing quiz",
        slug="timing-quiz",
        body=QUIZ_NOTES,
    )
    quiz_with_questions(lesson=quiz_lesson)
    return School(tier, paid, preview, open_lesson, locked, unpublished, other, quiz_lesson)


def learner_with_tier(tier: Tier, **kwargs) -> User:
    user = UserFactory(**kwargs)
    tier_grant_create(user=user, tier=tier, source="staff")
    return user


def sse_events(response) -> list[tuple[str, object]]:
    """A streamed response's events as (name, data) pairs, in order."""
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events
