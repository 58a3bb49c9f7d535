"""Parallel requests on PostgreSQL: the same completion or the same offline events sent at
once are applied once: one progress row per lesson, one XP award per source.

Each thread has its own API client and database connection (Django's are per thread) and
really commits, hence `transaction=True`; a barrier releases them at the same instant.
"""

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from catalog.models import Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.concurrency import run_together
from progress.models import (
    Certificate,
    Enrollment,
    LearnerStats,
    LessonProgress,
    ProgressEvent,
    XPAward,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
SYNC_URL = "/api/v1/progress/sync/"


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _post(user: User, url: str, body: dict | None = None) -> Callable[[], tuple[int, dict]]:
    def request() -> tuple[int, dict]:
        response = _client(user).post(url, body or {}, format="json")
        return response.status_code, response.json()

    return request


def _course(*kinds: str) -> list[Lesson]:
    course = CourseFactory()
    section = SectionFactory(course=course)
    return [
        LessonFactory(section=section, kind=kind, order=index, xp_value=10, is_boss=index == 0)
        for index, kind in enumerate(kinds)
    ]


def _awards(user: User) -> Counter:
    return Counter(XPAward.objects.filter(user=user).values_list("source_key", flat=True))


def test_completing_the_same_lesson_many_times_at_once_completes_it_once():
    learner = UserFactory()
    (lesson,) = _course("text")
    url = f"/api/v1/lessons/{lesson.pk}/complete/"

    answers = run_together([_post(learner, url) for _ in range(THREADS)])

    assert [status for status, _body in answers] == [200] * THREADS
    assert {body["status"] for _status, body in answers} == {"completed"}
    # One request did the work; the others found it done. Lesson, boss and course XP once.
    assert sorted(body["xp_awarded"] for _status, body in answers) == [0] * (THREADS - 1) + [
        10 + 50 + 100
    ]
    assert LessonProgress.objects.filter(user=learner, lesson=lesson).count() == 1
    assert _awards(learner) == {
        f"lesson:{lesson.pk}": 1,
        f"boss:{lesson.pk}": 1,
        f"course:{lesson.course_id}": 1,
    }
    assert LearnerStats.objects.get(user=learner).xp_total == 160
    assert Enrollment.objects.filter(user=learner).count() == 1
    assert Certificate.objects.filter(user=learner).count() == 1


def test_completing_the_last_lessons_at_once_completes_the_course_once():
    learner = UserFactory()
    lessons = _course("text", "text", "lab", "lab")

    answers = run_together(
        [_post(learner, f"/api/v1/lessons/{lesson.pk}/complete/") for lesson in lessons] * 2
    )

    assert [status for status, _body in answers] == [200] * 8
    assert sum(body["course_completed"] for _status, body in answers) >= 1
    assert LessonProgress.objects.filter(user=learner).count() == 4
    assert Certificate.objects.filter(user=learner).count() == 1
    assert _awards(learner)[f"course:{lessons[0].course_id}"] == 1
    assert set(_awards(learner).values()) == {1}
    stats = LearnerStats.objects.get(user=learner)
    assert stats.xp_total == sum(
        XPAward.objects.filter(user=learner).values_list("amount", flat=True)
    )


def test_overlapping_sync_batches_sent_at_once_apply_each_event_once():
    learner = UserFactory()
    lessons = _course("text", "text", "lab", "text", "lab")
    at = timezone.now() - timedelta(minutes=30)
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "complete",
            "lesson": str(lesson.pk),
            "occurred_at": (at + timedelta(minutes=index)).isoformat(),
        }
        for index, lesson in enumerate(lessons)
    ]
    # Every batch has the first event and two others, overlapping its neighbours'.
    batches = [
        [events[0], events[1 + index % 4], events[1 + (index + 1) % 4]] for index in range(THREADS)
    ]

    answers = run_together([_post(learner, SYNC_URL, {"events": batch}) for batch in batches])

    assert [status for status, _body in answers] == [200] * THREADS
    applied = Counter(
        result["id"]
        for _status, body in answers
        for result in body["results"]
        if result["status"] == "applied"
    )
    # Each event was applied by exactly one batch and recognised as a replay by the others.
    assert applied == {event["id"]: 1 for event in events}
    assert ProgressEvent.objects.filter(user=learner).count() == len(events)
    assert LessonProgress.objects.filter(user=learner).count() == len(lessons)
    assert set(_awards(learner).values()) == {1}
    assert len(_awards(learner)) == len(lessons) + 2  # lessons, the boss bonus, the course
    assert sum(body["xp_awarded"] for _status, body in answers) == sum(
        XPAward.objects.filter(user=learner).values_list("amount", flat=True)
    )
    assert Certificate.objects.filter(user=learner).count() == 1
