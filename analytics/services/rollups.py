"""Daily rollups: the event store folded into one row per course and day and one per day.

A day's rows are always recomputed whole from that day's events (delete, then insert, in one
transaction), so recomputing gives the same numbers however often it runs, and a late event
is folded in by recomputing the day it happened on.

Incremental runs (`rollups_refresh`, the beat task) read a cursor: the highest event id below
which every event has been folded in. Each run takes the next events above the cursor (a
bounded batch), recomputes every day they fall on, and moves the cursor on. Ids are handed
out when a row is inserted but become visible when its transaction commits, so a later id
can be seen before an earlier one: the cursor therefore only moves past events received more
than `LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS` ago (longer than any transaction that writes
events). Newer events are folded in now and read again on the next run, which costs one more
recompute of their day and loses nothing.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import CourseDay, Event, RollupCursor, SchoolDay
from analytics.selectors import Period, analytics_time_zone, day_start, today

logger = logging.getLogger(__name__)

CURSOR_NAME = "daily"


def _count(event_type: str, **extra: object) -> Count:
    return Count("id", filter=Q(type=event_type, **extra))


# Each CourseDay column but `active_learners` and `events`: an event type (and condition).
COURSE_COUNTS = {
    "enrollments": lambda: _count("enrollment.created"),
    "lesson_views": lambda: _count("lesson.viewed"),
    "video_plays": lambda: _count("video.play"),
    "lessons_completed": lambda: _count("lesson.completed"),
    "courses_completed": lambda: _count("course.completed"),
    "quiz_attempts": lambda: _count("quiz.attempted"),
    "quiz_passes": lambda: _count("quiz.attempted", properties__passed=True),
}
SCHOOL_COUNTS = {
    "signups": lambda: _count("user.signed_up"),
    "enrollments": lambda: _count("enrollment.created"),
    "lessons_completed": lambda: _count("lesson.completed"),
    "courses_completed": lambda: _count("course.completed"),
    "quiz_attempts": lambda: _count("quiz.attempted"),
    "searches": lambda: _count("search"),
}


@dataclass(frozen=True)
class RefreshResult:
    days: list[dt.date]  # the days recomputed
    events_read: int
    cursor: int  # the cursor after the run
    more: bool  # events beyond this batch are waiting


def frozen_before() -> dt.date | None:
    """Days before this one keep their rollups as they are: their raw events may have been
    purged (LMS_ANALYTICS_RETENTION_DAYS), so recomputing them would count less. None when
    raw events are kept forever."""
    retention = getattr(settings, "LMS_ANALYTICS_RETENTION_DAYS", 0) or 0
    return today() - dt.timedelta(days=retention - 1) if retention else None


def _day_events(day: dt.date):
    start = day_start(day)
    return Event.objects.filter(
        occurred_at__gte=start, occurred_at__lt=day_start(day + dt.timedelta(days=1))
    ).order_by()


def _course_rows(day: dt.date, now: dt.datetime) -> list[CourseDay]:
    rows = (
        _day_events(day)
        .filter(course_id__isnull=False)
        .values("course_id")
        .annotate(
            active_learners=Count("user_id", distinct=True),
            events=Count("id"),
            **{name: count() for name, count in COURSE_COUNTS.items()},
        )
    )
    return [CourseDay(day=day, computed_at=now, **row) for row in rows]


def _school_row(day: dt.date, now: dt.datetime) -> SchoolDay | None:
    totals = _day_events(day).aggregate(
        active_learners=Count("user_id", distinct=True),
        events=Count("id"),
        **{name: count() for name, count in SCHOOL_COUNTS.items()},
    )
    if not totals["events"]:
        return None
    return SchoolDay(day=day, computed_at=now, **totals)


def _day_recompute(day: dt.date) -> None:
    """Replace the rollups of `day` by what its events say now (inside the caller's
    transaction, which holds the cursor's lock)."""
    now = timezone.now()
    course_rows = _course_rows(day, now)
    school_row = _school_row(day, now)
    CourseDay.objects.filter(day=day).delete()
    SchoolDay.objects.filter(day=day).delete()
    CourseDay.objects.bulk_create(course_rows)
    if school_row is not None:
        school_row.save(force_insert=True)


def _locked_cursor() -> RollupCursor:
    """The cursor row, locked until the transaction ends: one rollup writer at a time."""
    RollupCursor.objects.get_or_create(name=CURSOR_NAME)
    return RollupCursor.objects.select_for_update().get(name=CURSOR_NAME)


def _without_frozen(days: Iterable[dt.date]) -> list[dt.date]:
    horizon = frozen_before()
    kept = sorted({day for day in days if horizon is None or day >= horizon})
    return kept


@transaction.atomic
def rollup_days_recompute(*, days: Iterable[dt.date]) -> list[dt.date]:
    """Recompute the rollups of each of `days` from the events (the same numbers on every
    run). Days whose raw events may have been purged are left as they are. Returns the days
    recomputed."""
    _locked_cursor()
    kept = _without_frozen(days)
    for day in kept:
        _day_recompute(day)
    return kept


def rollup_period_recompute(*, period: Period) -> list[dt.date]:
    """Recompute every day of `period`, one transaction per day (see
    `rollup_days_recompute`)."""
    done: list[dt.date] = []
    for day in period.each_day():
        done += rollup_days_recompute(days=[day])
    return done


@transaction.atomic
def rollups_refresh(*, batch: int | None = None) -> RefreshResult:
    """Fold the events received since the last run into their days' rollups: the next
    `batch` events above the cursor (LMS_ANALYTICS_ROLLUP_BATCH), every day they fall on
    recomputed whole, the cursor moved past those that have settled (see the module)."""
    batch = batch or settings.LMS_ANALYTICS_ROLLUP_BATCH
    cursor = _locked_cursor()
    pending = Event.objects.filter(id__gt=cursor.last_event_id).order_by()
    upper = (
        pending.order_by("id").values_list("id", flat=True)[batch - 1 : batch].first()
    )  # the batch's last id; None when fewer are waiting
    window = pending.filter(id__lte=upper) if upper is not None else pending
    settled_before = timezone.now() - dt.timedelta(
        seconds=settings.LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS
    )
    summary = window.aggregate(
        events=Count("id"), settled=Max("id", filter=Q(received_at__lte=settled_before))
    )
    days = list(
        window.annotate(day=TruncDate("occurred_at", tzinfo=analytics_time_zone()))
        .values_list("day", flat=True)
        .distinct()
    )
    recomputed = _without_frozen(days)
    for day in recomputed:
        _day_recompute(day)
    if summary["settled"] is not None and summary["settled"] > cursor.last_event_id:
        cursor.last_event_id = summary["settled"]
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["last_event_id", "updated_at"])
    # Only a batch that settled whole moved the cursor to its end; otherwise the rest waits.
    more = cursor.last_event_id == upper and pending.filter(id__gt=upper).exists()
    if recomputed:
        logger.info("Rollups: %d events, days %s", summary["events"], recomputed)
    return RefreshResult(
        days=recomputed, events_read=summary["events"], cursor=cursor.last_event_id, more=more
    )
