"""Daily rollups: recomputed whole per day (idempotent), incremental by a cursor that waits for
events committed out of id order, late events folded into their past day, and numbers equal
to a direct count over the raw events."""

import datetime as dt
import random
import threading
import uuid
import zoneinfo
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from analytics.models import CourseDay, Event, RollupCursor, SchoolDay
from analytics.selectors import Period, course_activity_series, school_series
from analytics.services.rollups import rollup_period_recompute, rollups_refresh
from analytics.tasks import rollups_recompute
from analytics.tasks import rollups_refresh as rollups_refresh_task

pytestmark = pytest.mark.django_db

TZ = "America/New_York"  # days are not UTC days, and 2026-03-08 has 23 hours
NEW_YORK = zoneinfo.ZoneInfo(TZ)
COURSES = [uuid.UUID(int=n) for n in (1, 2, 3)]
COURSE_TYPES = [
    "lesson.viewed",
    "video.play",
    "video.pause",
    "video.seek",
    "quiz.started",
    "enrollment.created",
    "lesson.completed",
    "course.completed",
    "quiz.attempted",
]
SCHOOL_TYPES = ["app.opened", "search", "user.signed_up"]
SERVER_TYPES = {
    "enrollment.created",
    "lesson.completed",
    "course.completed",
    "quiz.attempted",
    "user.signed_up",
}
COURSE_COLUMNS = {
    "enrollments": "enrollment.created",
    "lesson_views": "lesson.viewed",
    "video_plays": "video.play",
    "lessons_completed": "lesson.completed",
    "courses_completed": "course.completed",
    "quiz_attempts": "quiz.attempted",
}
SCHOOL_COLUMNS = {
    "signups": "user.signed_up",
    "enrollments": "enrollment.created",
    "lessons_completed": "lesson.completed",
    "courses_completed": "course.completed",
    "quiz_attempts": "quiz.attempted",
    "searches": "search",
}


@pytest.fixture(autouse=True)
def _analytics_days(settings):
    settings.LMS_ANALYTICS_TIME_ZONE = TZ
    settings.LMS_ANALYTICS_RETENTION_DAYS = 0  # fixed dates in the past stay recomputable
    settings.LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS = 300


def at(day: str, hour: float) -> dt.datetime:
    """`hour` hours after midnight of `day` in New York."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.min, tzinfo=NEW_YORK)
    return (midnight.astimezone(dt.UTC) + dt.timedelta(hours=hour)).astimezone(NEW_YORK)


def event(type: str, *, user=None, course=None, when: dt.datetime, received=None, **props):
    return Event(
        type=type,
        source=Event.Source.SERVER if type in SERVER_TYPES else Event.Source.CLIENT,
        user=user,
        course_id=course,
        lesson_id=uuid.UUID(int=99) if course else None,
        occurred_at=when,
        # Received soon after it happened: settled, unless a test says otherwise.
        received_at=received or when + dt.timedelta(seconds=5),
        properties=props,
    )


def rollup_rows() -> tuple[list, list]:
    course = list(CourseDay.objects.order_by("course_id", "day").values())
    school = list(SchoolDay.objects.order_by("day").values())
    for row in course + school:
        del row["id"], row["computed_at"]
    return course, school


def refresh_all(**kwargs) -> None:
    while rollups_refresh(**kwargs).more:
        pass


def test_a_day_recomputed_again_gives_the_same_numbers():
    ana, ben = UserFactory(), UserFactory()
    course = COURSES[0]
    Event.objects.bulk_create(
        [
            event("enrollment.created", user=ana, course=course, when=at("2026-03-02", 9)),
            event("lesson.viewed", user=ana, course=course, when=at("2026-03-02", 9.5)),
            event("lesson.viewed", user=ben, course=course, when=at("2026-03-02", 23.5)),
            event("lesson.completed", user=ben, course=course, when=at("2026-03-03", 0.5)),
            event("quiz.attempted", user=ana, course=course, when=at("2026-03-03", 1), passed=True),
            event(
                "quiz.attempted", user=ben, course=course, when=at("2026-03-03", 2), passed=False
            ),
            event("user.signed_up", user=ben, when=at("2026-03-02", 8)),
        ]
    )
    refresh_all()
    first = rollup_rows()

    refresh_all()
    assert rollup_rows() == first
    rollup_period_recompute(period=Period(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 4)))
    assert rollup_rows() == first
    call_command("analytics_rollups", "--from", "2026-03-02", "--to", "2026-03-03", stdout=None)
    assert rollup_rows() == first

    # 23:30 in New York is the next day in UTC: it stays on the 2nd.
    series = course_activity_series(
        course_id=course, period=Period(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 4))
    )
    assert [(p.day.day, p.enrollments, p.active_learners, p.lessons_completed) for p in series] == [
        (1, 0, 0, 0),
        (2, 1, 2, 0),
        (3, 0, 2, 1),
        (4, 0, 0, 0),
    ]
    day3 = CourseDay.objects.get(course_id=course, day=dt.date(2026, 3, 3))
    assert (day3.quiz_attempts, day3.quiz_passes, day3.events) == (2, 1, 3)
    school = school_series(period=Period(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2)))
    assert [(p.signups, p.active_learners) for p in school] == [(1, 2)]


def test_a_late_event_for_a_past_day_is_folded_into_that_day():
    ana, ben = UserFactory(), UserFactory()
    course = COURSES[0]
    Event.objects.bulk_create(
        [event("lesson.viewed", user=ana, course=course, when=at("2026-03-02", 10))]
    )
    refresh_all()
    assert CourseDay.objects.get(course_id=course, day="2026-03-02").active_learners == 1
    cursor = RollupCursor.objects.get().last_event_id

    # An app offline for a week sends Ben's view of the 2nd today.
    Event.objects.bulk_create(
        [
            event(
                "lesson.viewed",
                user=ben,
                course=course,
                when=at("2026-03-02", 11),
                received=at("2026-03-09", 12),
            )
        ]
    )
    result = rollups_refresh()

    assert result.days == [dt.date(2026, 3, 2)]
    day = CourseDay.objects.get(course_id=course, day="2026-03-02")
    assert (day.active_learners, day.lesson_views) == (2, 2)
    assert RollupCursor.objects.get().last_event_id > cursor
    assert rollups_refresh().days == []  # nothing new: nothing recomputed


def test_the_cursor_waits_for_recent_events_so_an_earlier_id_committed_later_is_counted(settings):
    """Ids are given at insert, visibility at commit: event 2 may be seen before event 1."""
    ana, ben = UserFactory(), UserFactory()
    course = COURSES[0]
    now = dt.datetime.now(dt.UTC)
    first_id, second_id = 10_001, 10_002
    Event.objects.bulk_create(
        [event("lesson.viewed", user=ben, course=course, when=now, received=now)]
    )
    Event.objects.filter(type="lesson.viewed").update(id=second_id)
    rollups_refresh()
    assert RollupCursor.objects.get().last_event_id < first_id  # not past a recent event

    # The transaction holding id 10001 commits now.
    late = event("lesson.completed", user=ana, course=course, when=now, received=now)
    late.id = first_id
    Event.objects.bulk_create([late])
    rollups_refresh()

    day = CourseDay.objects.get(course_id=course)
    assert (day.active_learners, day.lesson_views, day.lessons_completed) == (2, 1, 1)
    settings.LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS = 0  # later: both have settled
    rollups_refresh()
    assert RollupCursor.objects.get().last_event_id == second_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_in_a_transaction_still_open_during_a_run_is_counted_after_it_commits():
    ana, ben = UserFactory(), UserFactory()
    course = COURSES[1]
    now = dt.datetime.now(dt.UTC)
    inserted, commit = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                Event.objects.bulk_create(
                    [event("lesson.completed", user=ana, course=course, when=now, received=now)]
                )
                inserted.set()
                commit.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(10)
    Event.objects.bulk_create(
        [event("lesson.viewed", user=ben, course=course, when=now, received=now)]
    )
    rollups_refresh()  # sees Ben's event (the higher id) but not Ana's, still uncommitted
    assert CourseDay.objects.get(course_id=course).active_learners == 1
    commit.set()
    writer.join()

    rollups_refresh()

    day = CourseDay.objects.get(course_id=course)
    assert (day.active_learners, day.lesson_views, day.lessons_completed) == (2, 1, 1)


def generate(seed: int, count: int) -> list[Event]:
    """`count` events over ten days around the DST change, on three courses and the school,
    by 40 learners and some anonymous visitors, in random order of arrival."""
    rng = random.Random(seed)
    users = [UserFactory() for _ in range(40)]
    start = at("2026-03-03", 0)
    events = []
    for _ in range(count):
        when = start + dt.timedelta(seconds=rng.uniform(0, 10 * 86400))
        user = rng.choice(users) if rng.random() > 0.05 else None
        if rng.random() < 0.8:
            kind = rng.choice(COURSE_TYPES)
            props = {"passed": rng.random() < 0.6} if kind == "quiz.attempted" else {}
            events.append(event(kind, user=user, course=rng.choice(COURSES), when=when, **props))
        else:
            events.append(event(rng.choice(SCHOOL_TYPES), user=user, when=when))
    rng.shuffle(events)  # late arrivals: ids not in time order
    return events


def direct_counts(events: list[Event]) -> tuple[dict, dict]:
    """The rollups' numbers, counted in Python from the raw events."""
    course: dict = defaultdict(lambda: defaultdict(int))
    school: dict = defaultdict(lambda: defaultdict(int))
    course_users, school_users = defaultdict(set), defaultdict(set)
    for item in events:
        day = item.occurred_at.astimezone(NEW_YORK).date()
        school[day]["events"] += 1
        if item.user_id:
            school_users[day].add(item.user_id)
        for column, kind in SCHOOL_COLUMNS.items():
            school[day][column] += item.type == kind
        if item.course_id is None:
            continue
        row = course[(item.course_id, day)]
        row["events"] += 1
        if item.user_id:
            course_users[(item.course_id, day)].add(item.user_id)
        for column, kind in COURSE_COLUMNS.items():
            row[column] += item.type == kind
        row["quiz_passes"] += item.type == "quiz.attempted" and item.properties["passed"]
    for key, users in course_users.items():
        course[key]["active_learners"] = len(users)
    for key, users in school_users.items():
        school[key]["active_learners"] = len(users)
    return course, school


def test_rollups_of_thousands_of_generated_events_equal_a_direct_count():
    events = generate(seed=1404, count=6000)
    # Two thirds arrive first and are rolled up; the rest (late, shuffled) after.
    Event.objects.bulk_create(events[:4000], batch_size=1000)
    refresh_all(batch=1500)
    Event.objects.bulk_create(events[4000:], batch_size=1000)
    refresh_all(batch=1500)

    course, school = direct_counts(events)
    columns = [*COURSE_COLUMNS, "quiz_passes", "active_learners", "events"]
    stored = {
        (row.course_id, row.day): {column: getattr(row, column) for column in columns}
        for row in CourseDay.objects.all()
    }
    assert stored == {
        key: {column: counts.get(column, 0) for column in columns} for key, counts in course.items()
    }
    school_columns = [*SCHOOL_COLUMNS, "active_learners", "events"]
    assert {
        row.day: {column: getattr(row, column) for column in school_columns}
        for row in SchoolDay.objects.all()
    } == {
        day: {column: counts.get(column, 0) for column in school_columns}
        for day, counts in school.items()
    }
    assert len(stored) >= 30  # ten days (and a bit) per course
    assert RollupCursor.objects.get().last_event_id == Event.objects.order_by("-id").first().id

    snapshot = rollup_rows()
    call_command("analytics_rollups", "--from", "2026-03-01", "--to", "2026-03-15", stdout=None)
    assert rollup_rows() == snapshot


def test_recomputing_a_day_takes_the_same_queries_however_many_events():
    course = COURSES[0]
    users = [UserFactory() for _ in range(5)]
    rollups_refresh()  # the cursor's row exists from now on

    def queries_for(count: int) -> int:
        Event.objects.bulk_create(
            [
                event("lesson.viewed", user=users[n % 5], course=course, when=at("2026-03-05", 1))
                for n in range(count)
            ]
        )
        with CaptureQueriesContext(connection) as queries:
            rollups_refresh()
        return len(queries)

    assert queries_for(10) == queries_for(1000)


def test_days_past_the_raw_events_retention_keep_their_rollups(settings):
    settings.LMS_ANALYTICS_RETENTION_DAYS = 30
    old = dt.datetime.now(NEW_YORK) - dt.timedelta(days=40)
    CourseDay.objects.create(course_id=COURSES[0], day=old.date(), active_learners=7)
    # Raw events of that day were purged; one straggler remains.
    Event.objects.bulk_create(
        [event("lesson.viewed", user=UserFactory(), course=COURSES[0], when=old)]
    )

    rollups_refresh()
    rollup_period_recompute(period=Period(start=old.date(), end=old.date()))

    assert CourseDay.objects.get(course_id=COURSES[0]).active_learners == 7


def test_the_beat_task_catches_up_in_batches_and_the_recompute_task_takes_a_range(settings):
    settings.LMS_ANALYTICS_ROLLUP_BATCH = 3
    user = UserFactory()
    Event.objects.bulk_create(
        [
            event("lesson.viewed", user=user, course=COURSES[2], when=at(f"2026-03-{day:02d}", 12))
            for day in range(1, 11)
        ]
    )

    assert rollups_refresh_task.delay().get() >= 1  # re-queues itself (eager) until done

    assert CourseDay.objects.filter(course_id=COURSES[2]).count() == 10
    assert RollupCursor.objects.get().last_event_id == Event.objects.order_by("-id").first().id
    CourseDay.objects.filter(day="2026-03-04").update(active_learners=99)
    assert rollups_recompute.delay(start="2026-03-04", end="2026-03-05").get() == 2
    assert CourseDay.objects.get(day="2026-03-04").active_learners == 1


def test_the_command_refuses_bad_dates():
    with pytest.raises(CommandError, match="not a date"):
        call_command("analytics_rollups", "--from", "March 1st")
    with pytest.raises(CommandError, match="on or after"):
        call_command("analytics_rollups", "--from", "2026-03-05", "--to", "2026-03-01")
    with pytest.raises(CommandError, match="needs --from"):
        call_command("analytics_rollups", "--to", "2026-03-01")
