"""The write path's budgets: completing a lesson and a 500-event sync run the same number of
queries for a 20- and a 1,000-lesson course.

Counts include the transaction's two statements (a savepoint pair here, BEGIN and COMMIT
in production); what runs after commit (notifications, path certificates) is not counted.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import course_with_lessons
from progress.models import Certificate, Enrollment, LessonProgress, ProgressEvent, XPAward
from progress.services import lesson_complete

pytestmark = pytest.mark.django_db

SYNC_URL = "/api/v1/progress/sync/"
# The transaction (2), the learner's lock, the lesson with its course, the learner's row in it
# and their enrollment (the engine's read is the lookup: the API does not read the lesson
# first), the course's completion count, the XP insert, the analytics insert, the activity
# day, and the last writes sent together (the progress row, the enrollment and the stats).
COMPLETE_QUERIES = 9
# The transaction (2), the lock, earlier deliveries of the ids, the lessons with the learner's
# progress rows and enrollments, the completion count, the XP insert, the analytics insert,
# the activity days, and the last writes sent together (progress rows, enrollments, stats and
# the event log: one statement on PostgreSQL).
SYNC_QUERIES = 10


def complete_url(lesson: Lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/complete/"


def course_of(size: int) -> tuple[Course, list[Lesson]]:
    course = course_with_lessons(size, sections=max(1, size // 20))
    Lesson.objects.filter(course=course).update(xp_value=10)
    return course, list(Lesson.objects.filter(course=course).order_by("section__order", "order"))


@pytest.mark.parametrize("size", [20, 1000])
def test_completing_a_lesson_costs_the_same_queries_in_a_small_and_a_large_course(
    api_client, size, django_assert_max_num_queries
):
    _course, lessons = course_of(size)
    learner = UserFactory()
    for lesson in lessons[:5]:
        lesson_complete(user=learner, lesson=lesson)
    api_client.force_authenticate(learner)

    with django_assert_max_num_queries(COMPLETE_QUERIES):
        response = api_client.post(complete_url(lessons[5]))

    assert response.status_code == 200
    assert response.json() == {
        "lesson": str(lessons[5].pk),
        "status": "completed",
        "xp_awarded": 10,
        "course_completed": False,
        "certificate": None,
    }
    assert LessonProgress.objects.filter(user=learner, status="completed").count() == 6


@pytest.mark.parametrize("size", [20, 1000])
def test_completing_the_last_lesson_completes_the_course_in_the_same_budget_plus_its_certificate(
    api_client, size, django_assert_max_num_queries
):
    course, lessons = course_of(size)
    learner = UserFactory()
    for lesson in lessons[:-1]:
        LessonProgress.objects.create(
            user=learner,
            lesson=lesson,
            course=course,
            status=LessonProgress.Status.COMPLETED,
            completed_at=timezone.now(),
        )
    api_client.force_authenticate(learner)

    # The certificate: its code checked, inserted, read back.
    with django_assert_max_num_queries(COMPLETE_QUERIES + 3):
        response = api_client.post(complete_url(lessons[-1]))

    body = response.json()
    certificate = Certificate.objects.get(user=learner, course=course)
    assert body["course_completed"] is True
    assert body["certificate"]["code"] == certificate.code
    assert Enrollment.objects.get(user=learner, course=course).completed_at is not None
    assert XPAward.objects.filter(user=learner, reason=XPAward.Reason.COURSE_COMPLETED).exists()

    # Again: nothing new, and the answer still names the certificate.
    again = api_client.post(complete_url(lessons[-1])).json()
    assert (again["xp_awarded"], again["course_completed"]) == (0, True)
    assert again["certificate"]["code"] == certificate.code


def sync_batch(*, size: int, videos: list[Lesson], texts: list[Lesson], start) -> list[dict]:
    """As `bench/run.py` builds them: heartbeats 10 s apart playing one video after another,
    and every tenth event completing a text lesson."""
    events = []
    for index in range(size):
        event = {
            "id": str(uuid.uuid4()),
            "occurred_at": (start + timedelta(seconds=10 * index)).isoformat(),
        }
        if index % 10 == 9:
            event.update(type="complete", lesson=str(texts[(index // 10) % len(texts)].pk))
        else:
            video = videos[(index // 60) % len(videos)]
            position = float((10 * index) % video.duration_seconds)
            event.update(type="position", lesson=str(video.pk), position_seconds=position)
        events.append(event)
    return events


# SQLite splits an insert of 500 events into statements of 999 parameters.
@pytest.mark.postgres
@pytest.mark.parametrize("size", [20, 1000])
def test_a_500_event_sync_costs_the_same_queries_in_a_small_and_a_large_course(
    api_client, size, django_assert_max_num_queries
):
    _course, lessons = course_of(size)
    Lesson.objects.filter(pk__in=[lesson.pk for lesson in lessons[:5]]).update(
        kind=Lesson.Kind.VIDEO, duration_seconds=600
    )
    videos = list(Lesson.objects.filter(pk__in=[lesson.pk for lesson in lessons[:5]]))
    texts = lessons[5:-1]  # the last is never completed: the course stays unfinished
    learner = UserFactory()
    api_client.force_authenticate(learner)
    events = sync_batch(
        size=500, videos=videos, texts=texts, start=timezone.now() - timedelta(days=1)
    )

    with django_assert_max_num_queries(SYNC_QUERIES):
        response = api_client.post(SYNC_URL, {"events": events}, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 500
    assert {result["status"] for result in results} <= {"applied", "stale"}
    assert ProgressEvent.objects.filter(user=learner).count() == 500
    assert LessonProgress.objects.filter(user=learner, status="completed").count() >= 15

    # Sent again: every event a duplicate, within the same budget.
    with django_assert_max_num_queries(SYNC_QUERIES):
        again = api_client.post(SYNC_URL, {"events": events}, format="json")

    assert {result["status"] for result in again.json()["results"]} == {"duplicate"}


def test_the_completion_and_heartbeat_apis_answer_as_a_lookup_first_would(api_client):
    """The engine's read is the lookup: a lesson the learner may not see is 404 for both,
    before a heartbeat's bad body would be 400; a draft course's lesson is as missing."""
    _course, lessons = course_of(3)
    Lesson.objects.filter(pk=lessons[0].pk).update(kind=Lesson.Kind.VIDEO, duration_seconds=600)
    draft, draft_lessons = course_of(1)
    Course.objects.filter(pk=draft.pk).update(status=Course.Status.DRAFT)
    api_client.force_authenticate(UserFactory())
    missing = uuid.uuid4()

    for lesson_id in (missing, draft_lessons[0].pk):
        completed = api_client.post(f"/api/v1/lessons/{lesson_id}/complete/")
        bad_body = api_client.post(
            f"/api/v1/lessons/{lesson_id}/position/", {"position_seconds": -1}, format="json"
        )
        assert (completed.status_code, completed.json()["error"]["code"]) == (
            404,
            "LESSON_NOT_FOUND",
        )
        assert (bad_body.status_code, bad_body.json()["error"]["code"]) == (404, "LESSON_NOT_FOUND")

    bad_body = api_client.post(
        f"/api/v1/lessons/{lessons[0].pk}/position/", {"position_seconds": -1}, format="json"
    )
    saved = api_client.post(
        f"/api/v1/lessons/{lessons[0].pk}/position/", {"position_seconds": 30}, format="json"
    )
    assert bad_body.status_code == 400
    assert (saved.status_code, saved.json()["position_seconds"]) == (200, 30.0)
