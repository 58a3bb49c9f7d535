"""Parallel progress writes for one learner on PostgreSQL: the learner's stats row lock
queues them, so the (user, lesson) row and each XP award exist once."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.concurrency import run_together
from progress.models import Certificate, LearnerStats, LessonProgress, ProgressEvent, XPAward
from progress.services import ProgressEventIn, lesson_complete, progress_apply

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_parallel_completions_of_one_lesson_leave_one_row_and_one_award():
    user = UserFactory()  # no stats row yet: the threads also race to create it
    section = SectionFactory(course=CourseFactory())
    lesson = LessonFactory(section=section, xp_value=10)

    outcomes = run_together([lambda: lesson_complete(user=user, lesson=lesson)] * THREADS)

    assert sorted(outcome.xp_awarded for outcome in outcomes) == [0] * (THREADS - 1) + [110]
    assert LessonProgress.objects.filter(user=user, lesson=lesson).count() == 1
    assert sorted(XPAward.objects.filter(user=user).values_list("reason", flat=True)) == [
        "course_completed",
        "lesson_completed",
    ]
    assert LearnerStats.objects.get(user=user).xp_total == 110
    assert Certificate.objects.filter(user=user).count() == 1


def test_the_same_sync_batch_sent_in_parallel_is_applied_once():
    user = UserFactory()
    section = SectionFactory(course=CourseFactory())
    lessons = [LessonFactory(section=section, order=index, xp_value=5) for index in range(6)]
    start = timezone.now() - timedelta(minutes=10)
    events = [
        ProgressEventIn(
            kind="complete",
            lesson_id=lesson.pk,
            client_id=uuid.uuid4(),
            occurred_at=start + timedelta(seconds=index),
        )
        for index, lesson in enumerate(lessons)
    ]

    outcomes = run_together([lambda: progress_apply(user=user, events=events)] * THREADS)

    results = sorted(tuple(event.result for event in outcome.events) for outcome in outcomes)
    assert results == [("applied",) * 6] + [("duplicate",) * 6] * (THREADS - 1)
    assert LessonProgress.objects.filter(user=user).count() == 6
    assert ProgressEvent.objects.filter(user=user).count() == 6
    assert XPAward.objects.filter(user=user, reason="lesson_completed").count() == 6
    assert LearnerStats.objects.get(user=user).xp_total == sum(
        XPAward.objects.filter(user=user).values_list("amount", flat=True)
    )
