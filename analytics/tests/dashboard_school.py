"""A small school with known analytics, for the dashboard tests (pages, CSV, browser).

Ana teaches "Ana salsa" (a video lesson of 100 s, a quiz, a text lesson); Bo teaches "Bo
bachata". Learners enroll in Ana's course (through the progress service: the server writes
its own events), watch parts of the video (their progress rows' watched ranges), seek in
it (client events), and answer the quiz through the quiz service; then the day's rollups run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from analytics.models import Event
from analytics.selectors import period_last
from analytics.services.rollups import rollup_period_recompute
from catalog.models import Course, Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from progress.models import Enrollment, LessonProgress
from progress.services.enrollments import enrollment_create
from progress.services.quizzes import quiz_attempt_submit

PASSWORD = "correct-horse-battery"


@dataclass
class School:
    ana: User
    bo: User
    staff: User
    course: Course
    other: Course
    video: Lesson
    quiz: Lesson
    text: Lesson
    learners: list[User]


def with_role(role: Role, **kwargs) -> User:
    return user_role_set(user=UserFactory(**kwargs), role=role, actor=None)


def school_build(*, learners: int = 4) -> School:
    ana = with_role(Role.INSTRUCTOR, email="ana@example.com", verified_email=True)
    bo = with_role(Role.INSTRUCTOR, email="bo@example.com", verified_email=True)
    staff = with_role(Role.STAFF, email="sam@example.com", verified_email=True)
    course = CourseFactory(title="Ana salsa", slug="ana-salsa", instructors=[ana])
    other = CourseFactory(title="Bo bachata", slug="bo-bachata", instructors=[bo])
    section = SectionFactory(course=course, title="Basics", order=1)
    video = LessonFactory(
        section=section,
        title="Basic step video",
        kind=Lesson.Kind.VIDEO,
        duration_seconds=100,
        order=1,
    )
    quiz = LessonFactory(section=section, title="Timing quiz", kind=Lesson.Kind.QUIZ, order=2)
    quiz_with_questions(lesson=quiz)
    text = LessonFactory(section=section, title="Cool down notes", order=3)
    other_section = SectionFactory(course=other, title="Bo basics", order=1)
    LessonFactory(
        section=other_section,
        title="Bo secret lesson",
        kind=Lesson.Kind.VIDEO,
        duration_seconds=60,
        order=1,
    )
    school = School(ana, bo, staff, course, other, video, quiz, text, [])
    for index in range(learners):
        school.learners.append(learner_add(school, index))
    rollups_run()
    return school


def learner_add(school: School, index: int) -> User:
    """Learner `index` enrolls, watches the first half of the video (even learners watch
    all of it), seeks back over 40-50 s once, and answers the quiz's first question right
    ("Four") only if `index` is even (else "Three")."""
    learner = UserFactory(email=f"learner{index}-{uuid.uuid4().hex[:6]}@example.com")
    enrollment_create(user=learner, course=school.course, source=Enrollment.Source.SELF)
    now = timezone.now()
    LessonProgress.objects.create(
        user=learner,
        lesson=school.video,
        course=school.course,
        status=LessonProgress.Status.IN_PROGRESS,
        watched_ranges=[[0, 100]] if index % 2 == 0 else [[0, 50]],
        watched_seconds=100 if index % 2 == 0 else 50,
        started_at=now,
        updated_at=now,
    )
    Event.objects.create(
        event_id=uuid.uuid4(),
        type="video.seek",
        source=Event.Source.CLIENT,
        user=learner,
        app="web",
        course_id=school.course.pk,
        lesson_id=school.video.pk,
        occurred_at=now,
        properties={"from": 50.0, "to": 40.0},
    )
    questions = list(school.quiz.quiz.questions.order_by("order"))
    first = questions[0]
    answer = "Four" if index % 2 == 0 else "Three"
    choice = first.choices.get(text=answer)
    quiz_attempt_submit(user=learner, lesson=school.quiz, answers={str(first.pk): [str(choice.pk)]})
    return learner


def rollups_run() -> None:
    rollup_period_recompute(period=period_last(2))


def today() -> dt.date:
    from analytics.selectors import today as analytics_today

    return analytics_today()
