"""`POST /api/v1/progress/sync/`: offline batches, one transaction each, replay-safe, with a
fixed number of queries however many events they carry.

Time is moved by dating the events (`occurred_at`), as a device that was offline does.
"""

import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.services import tier_grant_create
from billing.tests.factories import SubscriptionFactory, TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.models import (
    ActivityDay,
    Certificate,
    Enrollment,
    LearnerStats,
    LessonProgress,
    ProgressEvent,
    XPAward,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/progress/sync/"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def course_of(*kinds: str, **course_kwargs) -> tuple[Course, list[Lesson]]:
    """A published course with one lesson per kind (10 XP each; videos last 60 s)."""
    course = CourseFactory(**course_kwargs)
    section = SectionFactory(course=course, order=1)
    lessons = [
        LessonFactory(section=section, kind=kind, order=index, xp_value=10, duration_seconds=60)
        for index, kind in enumerate(kinds)
    ]
    return course, lessons


def complete(lesson: Lesson | uuid.UUID, at: datetime, event_id: uuid.UUID | None = None) -> dict:
    return {
        "id": str(event_id or uuid.uuid4()),
        "type": "complete",
        "lesson": str(getattr(lesson, "pk", lesson)),
        "occurred_at": iso(at),
    }


def position(lesson: Lesson, seconds: float, at: datetime) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "position",
        "lesson": str(lesson.pk),
        "occurred_at": iso(at),
        "position_seconds": seconds,
    }


def heartbeats(lesson: Lesson, positions: list[float], *, start: datetime) -> list[dict]:
    """Position events 10 s apart, as the player sends them while playing."""
    return [
        position(lesson, seconds, start + timedelta(seconds=10 * index))
        for index, seconds in enumerate(positions)
    ]


def result(event: dict, status: str, lesson_status: str | None, xp: int = 0, code=None) -> dict:
    return {
        "id": event["id"],
        "status": status,
        "code": code,
        "lesson": event["lesson"],
        "lesson_status": lesson_status,
        "xp_awarded": xp,
    }


@pytest.fixture
def learner():
    """A learner whose local time is around noon, so that "an hour ago" is today for them
    whenever the tests run (streaks count days in the learner's time zone)."""
    offset = 12 - timezone.now().hour  # hours ahead of UTC, -11 to +12
    return UserFactory(time_zone=f"Etc/GMT{-offset:+d}")  # Etc/GMT-5 is UTC+5


@pytest.fixture
def api(api_client, learner):
    api_client.force_authenticate(learner)
    return api_client


@pytest.fixture
def earlier():
    """When the offline events below happened: an hour ago."""
    return timezone.now() - timedelta(hours=1)


def state_of(user) -> dict:
    """Everything a sync can change for a learner, to compare before and after."""
    return {
        "progress": sorted(
            LessonProgress.objects.filter(user=user).values_list(
                "lesson_id",
                "status",
                "position_seconds",
                "watched_seconds",
                "watched_ranges",
                "last_heartbeat_at",
                "completed_at",
                "updated_at",
            )
        ),
        "xp": sorted(XPAward.objects.filter(user=user).values_list("source_key", "amount")),
        "days": sorted(ActivityDay.objects.filter(user=user).values_list("day", flat=True)),
        "stats": list(
            LearnerStats.objects.filter(user=user).values_list(
                "xp_total", "current_streak", "longest_streak", "last_active_day"
            )
        ),
        "enrollments": sorted(
            Enrollment.objects.filter(user=user).values_list(
                "course_id", "last_lesson_id", "last_activity_at", "completed_at", "unenrolled_at"
            )
        ),
        "certificates": sorted(Certificate.objects.filter(user=user).values_list("code")),
        "events": ProgressEvent.objects.filter(user=user).count(),
    }


# --- Applying a batch ----------------------------------------------------------------------


def test_a_batch_is_applied_and_answered_event_by_event_in_the_order_sent(api, learner, earlier):
    _course, (text, video, quiz) = course_of("text", "video", "quiz")
    paid_tier = TierFactory(rank=3)
    _paid, (locked,) = course_of("text", visibility=Course.Visibility.PAID, required_tier=paid_tier)
    events = [
        complete(text, earlier + timedelta(minutes=5)),
        position(video, 20, earlier),
        complete(video, earlier),
        complete(quiz, earlier),
        position(text, 5, earlier),
        complete(uuid.uuid4(), earlier),
        complete(locked, earlier),
        complete(text, timezone.now() + timedelta(hours=1)),
    ]

    response = api.post(URL, {"events": events}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            result(events[0], "applied", "completed", xp=10),
            result(events[1], "applied", "in_progress"),
            result(events[2], "rejected", "in_progress", code="COMPLETION_NOT_MANUAL"),
            result(events[3], "rejected", "not_started", code="COMPLETION_NOT_MANUAL"),
            result(events[4], "rejected", "completed", code="POSITION_NOT_VIDEO"),
            result(events[5], "rejected", None, code="LESSON_NOT_FOUND"),
            result(events[6], "rejected", "not_started", code="UPGRADE_REQUIRED"),
            result(events[7], "rejected", "completed", code="EVENT_IN_FUTURE"),
        ],
        "xp_awarded": 10,
        "stats": {
            "xp": 10,
            "level": 1,
            "level_start_xp": 0,
            "next_level_xp": 100,
            "level_percent": 10,
            "current_streak": 1,
            "longest_streak": 1,
            "next_milestone": 3,
            "active_today": True,
        },
    }
    rows = dict(LessonProgress.objects.filter(user=learner).values_list("lesson_id", "status"))
    assert rows == {text.pk: "completed", video.pk: "in_progress"}
    row = LessonProgress.objects.get(user=learner, lesson=text)
    assert row.completed_at == earlier + timedelta(minutes=5)  # when it happened offline
    # Every event with its result is kept, so a replay is recognised.
    assert ProgressEvent.objects.filter(user=learner).count() == len(events)


def test_replaying_a_batch_changes_nothing_and_answers_duplicate(api, learner, earlier):
    _course, (text, video, last) = course_of("text", "video", "lab")
    events = [
        complete(text, earlier),
        *heartbeats(video, [0, 10, 20, 30, 40, 50, 60], start=earlier + timedelta(minutes=1)),
        complete(last, earlier + timedelta(minutes=3)),
    ]
    first = api.post(URL, {"events": events}, format="json")
    before = state_of(learner)
    assert first.json()["xp_awarded"] == 10 + 10 + 10 + 100  # three lessons, the course

    again = api.post(URL, {"events": events}, format="json")

    assert again.status_code == 200
    body = again.json()
    final_status = {text.pk: "completed", video.pk: "completed", last.pk: "completed"}
    assert body["results"] == [
        result(event, "duplicate", final_status[uuid.UUID(event["lesson"])]) for event in events
    ]
    assert body["xp_awarded"] == 0
    assert body["stats"] == first.json()["stats"]
    assert state_of(learner) == before
    assert Certificate.objects.filter(user=learner).count() == 1


def test_the_same_event_twice_in_one_batch_is_applied_once(api, learner, earlier):
    _course, (text, _other) = course_of("text", "text")
    event = complete(text, earlier)

    response = api.post(URL, {"events": [event, event]}, format="json")

    assert response.json()["results"] == [
        result(event, "applied", "completed", xp=10),
        result(event, "duplicate", "completed"),
    ]
    assert XPAward.objects.filter(user=learner).count() == 1
    assert ProgressEvent.objects.filter(user=learner).count() == 1


def test_an_older_heartbeat_arriving_late_is_stale_and_does_not_move_the_position_back(
    api, learner, earlier
):
    _course, (video,) = course_of("video")
    api.post(URL, {"events": [position(video, 30, earlier + timedelta(minutes=1))]}, format="json")
    late = position(video, 5, earlier)

    response = api.post(URL, {"events": [late]}, format="json")

    assert response.json()["results"] == [result(late, "stale", "in_progress")]
    assert LessonProgress.objects.get(user=learner, lesson=video).position_seconds == 30


def test_an_empty_batch_answers_the_stats(api):
    response = api.post(URL, {"events": []}, format="json")

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert response.json()["xp_awarded"] == 0
    assert response.json()["stats"]["xp"] == 0


# --- Videos: watching, not seeking, completes them ---------------------------------------


def test_heartbeats_ten_seconds_apart_through_the_video_complete_it(api, learner, earlier):
    _course, (video, _other) = course_of("video", "text")
    events = heartbeats(video, [0, 10, 20, 30, 40, 50], start=earlier)

    watching = api.post(URL, {"events": events}, format="json").json()

    # 50 of 60 s watched: not yet 90%.
    assert watching["results"][-1] == result(events[-1], "applied", "in_progress")
    last = heartbeats(video, [54], start=earlier + timedelta(seconds=60))

    done = api.post(URL, {"events": last}, format="json").json()

    assert done["results"] == [result(last[0], "applied", "completed", xp=10)]
    row = LessonProgress.objects.get(user=learner, lesson=video)
    assert (row.status, row.watched_seconds, row.watched_ranges) == ("completed", 54, [[0, 54]])
    assert row.completed_at == earlier + timedelta(seconds=60)


def test_jumping_to_the_end_between_heartbeats_does_not_complete_a_video(api, learner, earlier):
    _course, (video,) = course_of("video")
    # Ten seconds apart, but the position jumps by 30 s: seeking, not watching.
    events = heartbeats(video, [0, 30, 60], start=earlier)

    response = api.post(URL, {"events": events}, format="json")

    assert [item["lesson_status"] for item in response.json()["results"]] == ["in_progress"] * 3
    row = LessonProgress.objects.get(user=learner, lesson=video)
    assert (row.status, row.position_seconds, row.watched_seconds) == ("in_progress", 60, 0)
    assert not XPAward.objects.exists()


def test_one_heartbeat_at_the_end_does_not_complete_a_video(api, learner, earlier):
    _course, (video,) = course_of("video")

    response = api.post(URL, {"events": [position(video, 60, earlier)]}, format="json")

    assert response.json()["results"][0]["lesson_status"] == "in_progress"
    assert LessonProgress.objects.get(user=learner, lesson=video).watched_seconds == 0


# --- Refusing a whole batch ----------------------------------------------------------------


def test_a_batch_over_the_limit_is_refused_whole(api, learner, earlier):
    _course, (text,) = course_of("text")
    events = [complete(text, earlier) for _ in range(501)]

    response = api.post(URL, {"events": events}, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"events": ["Send at most 500 events at once."]},
    )
    assert not LessonProgress.objects.exists()
    assert not ProgressEvent.objects.exists()


def test_the_limit_comes_from_the_settings(api, settings, earlier):
    settings.LMS_PROGRESS_SYNC_MAX_EVENTS = 2
    _course, (text,) = course_of("text")

    over = api.post(URL, {"events": [complete(text, earlier)] * 3}, format="json")
    at_limit = api.post(
        URL, {"events": [complete(text, earlier), complete(text, earlier)]}, format="json"
    )

    assert over.status_code == 400
    assert over.json()["error"]["fields"] == {"events": ["Send at most 2 events at once."]}
    assert at_limit.status_code == 200


def test_a_malformed_event_refuses_the_whole_batch(api, learner, earlier):
    _course, (text, video) = course_of("text", "video")
    events = [
        complete(text, earlier),
        {"type": "complete", "lesson": str(text.pk), "occurred_at": iso(earlier)},
        {**complete(text, earlier), "id": "not-a-uuid", "type": "finish"},
        {
            key: value
            for key, value in position(video, 3, earlier).items()
            if key != "position_seconds"
        },
        {**complete(text, earlier), "position_seconds": 3},
        {**position(video, -1, earlier), "occurred_at": "yesterday"},
    ]

    response = api.post(URL, {"events": events}, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {
            "events.1.id": ["This field is required."],
            "events.2.id": ["Must be a valid UUID."],
            "events.2.type": ['"finish" is not a valid choice.'],
            "events.3.position_seconds": ["A position event needs a position."],
            "events.4.position_seconds": ["Only position events have a position."],
            "events.5.occurred_at": [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ],
            "events.5.position_seconds": ["Ensure this value is greater than or equal to 0."],
        },
    )
    assert not LessonProgress.objects.exists()
    assert not ProgressEvent.objects.exists()
    assert not LearnerStats.objects.exists()


@pytest.mark.parametrize("body", [{}, {"events": "all"}, [], {"events": [1]}])
def test_a_batch_that_is_not_a_list_of_events_is_refused(api, body):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# --- Query budget --------------------------------------------------------------------------


# Measured: 23 statements on PostgreSQL, for 5 events as for 500 (one per table and step;
# the 23rd stores the batch's analytics events: enrollments and completions).
SYNC_QUERY_BUDGET = 23
# SQLite allows 999 parameters a statement, so Django splits inserts of hundreds of rows into
# several statements; the budget grants those splits (see the statement comparison below).
# 15 since events keep their attempts and last delivery: 10 columns a row, 99 rows a statement;
# 21 since the batch's 600 analytics events (10 columns) take 7 statements.
SQLITE_INSERT_SPLITS = 21


def query_budget() -> int:
    return SYNC_QUERY_BUDGET + (SQLITE_INSERT_SPLITS if connection.vendor == "sqlite" else 0)


def batch_for(learner, lesson_count: int, *, at: datetime) -> list[dict]:
    """One event per lesson, in paid courses of 5 lessons that the learner's tier opens: a
    heartbeat on each course's video and completions of its 4 required text lessons, which
    completes every course (XP, course bonus, certificate, enrollment, activity day)."""
    tier = TierFactory()
    tier_grant_create(user=learner, tier=tier, source=TierGrant.Source.STAFF)
    courses = [
        CourseFactory(visibility=Course.Visibility.PAID, required_tier=tier)
        for _ in range(lesson_count // 5)
    ]
    for course in courses:
        section = SectionFactory(course=course)
        Lesson.objects.bulk_create(
            Lesson(
                course=course,
                section=section,
                slug=f"lesson-{index}",
                title=f"Lesson {index}",
                kind=Lesson.Kind.VIDEO if index == 0 else Lesson.Kind.TEXT,
                is_required=index != 0,
                duration_seconds=60,
                order=index,
            )
            for index in range(5)
        )
    lessons = Lesson.objects.filter(course__in=courses).order_by("course_id", "order")
    return [
        position(lesson, 10, at) if lesson.kind == Lesson.Kind.VIDEO else complete(lesson, at)
        for lesson in lessons
    ]


@pytest.mark.parametrize("event_count", [5, 500])
def test_a_batch_runs_a_bounded_number_of_queries_however_many_events(
    api, learner, earlier, event_count, django_assert_max_num_queries
):
    events = batch_for(learner, event_count, at=earlier)
    assert len(events) == event_count

    with django_assert_max_num_queries(query_budget()):
        response = api.post(URL, {"events": events}, format="json")

    assert response.status_code == 200
    assert {item["status"] for item in response.json()["results"]} == {"applied"}
    assert Certificate.objects.filter(user=learner).count() == event_count // 5
    assert ProgressEvent.objects.filter(user=learner).count() == event_count

    # Replaying it (every event a duplicate) stays within the same budget.
    with django_assert_max_num_queries(query_budget()):
        again = api.post(URL, {"events": events}, format="json")

    assert {item["status"] for item in again.json()["results"]} == {"duplicate"}


def statements(queries: CaptureQueriesContext) -> list[str]:
    """What each statement does (verb and table), with an insert that the database split
    into several statements counted once."""
    shapes: list[str] = []
    for query in queries.captured_queries:
        sql = re.sub(r'"s\d+_x\d+"', "<savepoint>", query["sql"])
        if sql.startswith("WITH "):  # writes sent together: the tables they write
            written = re.findall(r'(?:INSERT INTO|UPDATE) ("\w+")', sql)
            shapes.append("WITH " + " ".join(written))
            continue
        shape = re.sub(r'^(SELECT).*? FROM ("\w+").*', r"\1 \2", sql)
        shape = re.sub(r"^(INSERT (OR IGNORE )?INTO \"\w+\").*", r"\1", shape)
        shape = re.sub(r'^(UPDATE "\w+").*', r"\1", shape)
        if not (shape.startswith("INSERT") and shapes and shapes[-1] == shape):
            shapes.append(shape)
    return shapes


def test_five_and_five_hundred_events_run_the_same_statements(api_client, earlier):
    ran = {}
    for event_count in (5, 500):
        learner = UserFactory()
        api_client.force_authenticate(learner)
        events = batch_for(learner, event_count, at=earlier)
        with CaptureQueriesContext(connection) as queries:
            assert api_client.post(URL, {"events": events}, format="json").status_code == 200
        ran[event_count] = queries

    assert statements(ran[5]) == statements(ran[500])
    assert len(statements(ran[5])) <= SYNC_QUERY_BUDGET
    if connection.vendor != "sqlite":
        assert len(ran[5]) == len(ran[500])


# --- One learner's events are theirs --------------------------------------------------------


def test_another_learners_event_ids_are_not_replays_of_mine(api, learner, earlier):
    _course, (text,) = course_of("text")
    other = UserFactory()
    shared = complete(text, earlier)
    other_api = type(api)()
    other_api.force_authenticate(other)
    other_api.post(URL, {"events": [shared]}, format="json")
    theirs = state_of(other)

    response = api.post(URL, {"events": [shared]}, format="json")

    assert response.json()["results"] == [result(shared, "applied", "completed", xp=10)]
    assert state_of(other) == theirs
    assert LessonProgress.objects.filter(lesson=text).count() == 2


# --- Refused events are tried again ---------------------------------------------------------


def as_a_new_request(api, learner):
    """Authenticate a fresh user object, as the next request of the app would be (the tier a
    user holds is remembered on the user object for one request)."""
    api.force_authenticate(type(learner).objects.get(pk=learner.pk))
    return api


def test_lessons_refused_before_subscribing_are_applied_when_the_app_resends_them(
    api, learner, earlier
):
    paid_tier = TierFactory(rank=3)
    paid, (first, second) = course_of(
        "text", "lab", visibility=Course.Visibility.PAID, required_tier=paid_tier
    )
    free_course, (free,) = course_of("text")
    events = [
        complete(free, earlier),
        complete(first, earlier + timedelta(minutes=1)),
        complete(second, earlier + timedelta(minutes=2)),
    ]
    refused = api.post(URL, {"events": events}, format="json")
    assert refused.json()["results"] == [
        result(events[0], "applied", "completed", xp=10),
        result(events[1], "rejected", "not_started", code="UPGRADE_REQUIRED"),
        result(events[2], "rejected", "not_started", code="UPGRADE_REQUIRED"),
    ]

    # The learner subscribes to the paid tier; the app, back online, sends its queue again.
    SubscriptionFactory(customer__user=learner, plan__tier=paid_tier)
    resent = as_a_new_request(api, learner).post(URL, {"events": events}, format="json")

    assert resent.status_code == 200
    body = resent.json()
    assert body["results"] == [
        result(events[0], "duplicate", "completed"),
        result(events[1], "applied", "completed", xp=10),
        result(events[2], "applied", "completed", xp=10),
    ]
    assert body["xp_awarded"] == 10 + 10 + 100  # two lessons, then the course
    assert body["stats"]["xp"] == 110 + 120  # the free course was completed the first time
    rows = {
        row.lesson_id: (row.status, row.completed_at)
        for row in LessonProgress.objects.filter(user=learner)
    }
    assert rows == {
        free.pk: ("completed", earlier),
        first.pk: ("completed", earlier + timedelta(minutes=1)),  # when it happened offline
        second.pk: ("completed", earlier + timedelta(minutes=2)),
    }
    awards = set(XPAward.objects.filter(user=learner).values_list("source_key", "amount"))
    assert awards == {
        (f"lesson:{free.pk}", 10),
        (f"course:{free_course.pk}", 100),
        (f"lesson:{first.pk}", 10),
        (f"lesson:{second.pk}", 10),
        (f"course:{paid.pk}", 100),
    }
    certificate = Certificate.objects.get(user=learner, course=paid)
    stored = {
        event.client_id: (event.result, event.attempts)
        for event in ProgressEvent.objects.filter(user=learner)
    }
    assert stored == {
        uuid.UUID(events[0]["id"]): ("applied", 1),
        uuid.UUID(events[1]["id"]): ("applied", 2),
        uuid.UUID(events[2]["id"]): ("applied", 2),
    }

    # What the learner then sees on "My learning" in the app: the paid course completed
    # (most recent first), its certificate, and the XP.
    dashboard = api.get("/api/v1/me/dashboard/").json()
    assert [item["course"]["slug"] for item in dashboard["completed"]] == [
        paid.slug,
        free_course.slug,
    ]
    assert dashboard["in_progress"] == []
    assert certificate.code in [item["code"] for item in dashboard["certificates"]]
    assert dashboard["stats"]["xp"] == 230
    progress = api.get(f"/api/v1/courses/{paid.slug}/progress/").json()
    assert (progress["percent"], progress["is_completed"]) == (100, True)

    # Sent once more, everything has been applied before: duplicates, nothing changes.
    before = state_of(learner)
    again = api.post(URL, {"events": events}, format="json")

    assert again.json()["results"] == [result(event, "duplicate", "completed") for event in events]
    assert again.json()["xp_awarded"] == 0
    assert state_of(learner) == before
    assert Certificate.objects.filter(user=learner).count() == 2


def test_an_event_still_refused_is_refused_again_not_called_a_duplicate(api, learner, earlier):
    _paid, (locked,) = course_of(
        "text", visibility=Course.Visibility.PAID, required_tier=TierFactory(rank=3)
    )
    event = complete(locked, earlier)
    api.post(URL, {"events": [event]}, format="json")
    first_received = ProgressEvent.objects.get(user=learner).received_at

    again = api.post(URL, {"events": [event]}, format="json")

    assert again.json()["results"] == [
        result(event, "rejected", "not_started", code="UPGRADE_REQUIRED")
    ]
    stored = ProgressEvent.objects.get(user=learner)
    assert (stored.result, stored.attempts) == ("UPGRADE_REQUIRED", 2)
    assert stored.received_at == first_received
    assert stored.last_received_at > first_received
    assert not LessonProgress.objects.filter(user=learner).exists()
    assert not XPAward.objects.filter(user=learner).exists()


def test_a_refused_event_twice_in_one_batch_is_refused_twice_and_stored_once(api, learner, earlier):
    _paid, (locked,) = course_of(
        "text", visibility=Course.Visibility.PAID, required_tier=TierFactory(rank=3)
    )
    event = complete(locked, earlier)

    response = api.post(URL, {"events": [event, event]}, format="json")

    assert (
        response.json()["results"]
        == [result(event, "rejected", "not_started", code="UPGRADE_REQUIRED")] * 2
    )
    stored = ProgressEvent.objects.get(user=learner)
    assert (stored.result, stored.attempts) == ("UPGRADE_REQUIRED", 1)


def test_a_stale_heartbeat_sent_again_is_still_stale_and_moves_nothing(api, learner, earlier):
    _course, (video,) = course_of("video")
    api.post(URL, {"events": [position(video, 30, earlier + timedelta(minutes=1))]}, format="json")
    late = position(video, 5, earlier)
    api.post(URL, {"events": [late]}, format="json")

    again = api.post(URL, {"events": [late]}, format="json")

    assert again.json()["results"] == [result(late, "stale", "in_progress")]
    assert LessonProgress.objects.get(user=learner, lesson=video).position_seconds == 30
    stored = ProgressEvent.objects.get(client_id=late["id"])
    assert (stored.result, stored.attempts) == ("stale", 2)
