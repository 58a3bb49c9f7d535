"""Every metric the dashboards read, as frozen dataclasses.

Days are calendar days in `LMS_ANALYTICS_TIME_ZONE`; a `Period` is inclusive at both ends.
Series come from the daily rollups (`analytics.models.rollups`), zero-filled so each day of
the period has a point; the video, quiz and funnel metrics read the learners' progress rows
and the seek events directly, aggregated in SQL where the database can do it and otherwise in
one linear pass. Each selector runs a constant number of queries, however many learners.
README "Analytics › Rollups" defines every metric.

Course metrics take an optional `cohort_id` (a cohort of that course, checked by the caller):
every figure then counts only the cohort's members, through a subquery of their ids (no
query of its own). The activity series has no per-learner rollup, so for a cohort it is
counted from the raw events (the same definitions, as far back as events are retained).
"""

import bisect
import datetime as dt
import json
import math
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, FloatField, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Ceil, Floor, Greatest, Least, TruncDate

from analytics.models import CourseDay, Event, SchoolDay
from billing.models import Subscription
from catalog.models import Lesson, Question
from progress.cohorts.selectors import cohort_member_ids
from progress.models import CohortMembership, Enrollment, LessonProgress, QuizAttempt


# --- Periods and days -----------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Calendar days `start` to `end`, both included, in LMS_ANALYTICS_TIME_ZONE."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("A period ends on or after its start.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> Iterator[dt.date]:
        for offset in range(self.days):
            yield self.start + dt.timedelta(days=offset)

    @property
    def start_at(self) -> dt.datetime:
        """The first instant of the period (aware)."""
        return day_start(self.start)

    @property
    def end_before(self) -> dt.datetime:
        """The first instant after the period (aware): filter with `< end_before`."""
        return day_start(self.end + dt.timedelta(days=1))


def analytics_time_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.LMS_ANALYTICS_TIME_ZONE)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the analytics time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=analytics_time_zone())


def local_day(moment: dt.datetime) -> dt.date:
    """The analytics calendar day `moment` falls on."""
    return moment.astimezone(analytics_time_zone()).date()


def today() -> dt.date:
    return local_day(dt.datetime.now(dt.UTC))


def period_last(days: int, *, end: dt.date | None = None) -> Period:
    """The last `days` days up to `end` (default today), both included."""
    end = end or today()
    return Period(start=end - dt.timedelta(days=days - 1), end=end)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# --- Course activity ------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityPoint:
    day: dt.date
    enrollments: int
    active_learners: int
    lessons_completed: int


def _cohort_activity_rows(*, course_id: UUID, period: Period, cohort_id: int) -> Iterable[dict]:
    """The rollup's columns for the cohort's members only, counted from the course's events
    of the period by analytics day, as the rollup counts them (`analytics.services.rollups`)."""
    return (
        Event.objects.filter(
            course_id=course_id,
            occurred_at__gte=period.start_at,
            occurred_at__lt=period.end_before,
            user_id__in=cohort_member_ids(cohort_id=cohort_id),
        )
        .order_by()
        .annotate(day=TruncDate("occurred_at", tzinfo=analytics_time_zone()))
        .values("day")
        .annotate(
            active_learners=Count("user_id", distinct=True),
            enrollments=Count("id", filter=Q(type="enrollment.created")),
            lessons_completed=Count("id", filter=Q(type="lesson.completed")),
        )
    )


def course_activity_series(
    *, course_id: UUID, period: Period, cohort_id: int | None = None
) -> list[ActivityPoint]:
    """Per day of the period: enrollments, active learners (distinct users with any event of
    the course that day) and lessons completed, from the course's daily rollups (for a
    cohort, from the events of its members). One query."""
    if cohort_id is not None:
        found = _cohort_activity_rows(course_id=course_id, period=period, cohort_id=cohort_id)
    else:
        found = CourseDay.objects.filter(
            course_id=course_id, day__gte=period.start, day__lte=period.end
        ).values("day", "enrollments", "active_learners", "lessons_completed")
    rows = {row["day"]: row for row in found}
    empty = {"enrollments": 0, "active_learners": 0, "lessons_completed": 0}
    return [
        ActivityPoint(
            day=day,
            enrollments=rows.get(day, empty)["enrollments"],
            active_learners=rows.get(day, empty)["active_learners"],
            lessons_completed=rows.get(day, empty)["lessons_completed"],
        )
        for day in period.each_day()
    ]


# --- Completion funnel ----------------------------------------------------------------------
@dataclass(frozen=True)
class FunnelStep:
    lesson_id: UUID
    lesson_title: str
    section_title: str
    learners_completed: int
    share: float  # of the cohort: learners_completed / cohort size (0 for an empty cohort)


@dataclass(frozen=True)
class Funnel:
    cohort: int  # learners who enrolled during the period
    steps: list[FunnelStep]


def _published_lessons(course_id: UUID) -> list[Lesson]:
    return list(
        Lesson.objects.filter(course_id=course_id, is_published=True)
        .select_related("section")
        .order_by("section__order", "order")
        .only("id", "title", "kind", "duration_seconds", "section__title", "section__order")
    )


def course_funnel_cohort(
    *, course_id: UUID, period: Period, cohort_id: int | None = None
) -> Funnel:
    """The completion funnel of the learners who enrolled in the course during the period
    (the funnel's cohort; with `cohort_id`, only those of them in that cohort): for each
    published lesson in outline order, how many of them have completed it by now, and which
    share of them that is. Three queries."""
    cohort = Enrollment.objects.filter(
        course_id=course_id,
        created_at__gte=period.start_at,
        created_at__lt=period.end_before,
    )
    if cohort_id is not None:
        cohort = cohort.filter(user_id__in=cohort_member_ids(cohort_id=cohort_id))
    size = cohort.count()
    completed = dict(
        LessonProgress.objects.filter(
            course_id=course_id,
            status=LessonProgress.Status.COMPLETED,
            user_id__in=cohort.values("user_id"),
        )
        .values_list("lesson_id")
        .annotate(learners=Count("user_id"))
        .values_list("lesson_id", "learners")
    )
    steps = [
        FunnelStep(
            lesson_id=lesson.pk,
            lesson_title=lesson.title,
            section_title=lesson.section.title,
            learners_completed=completed.get(lesson.pk, 0),
            share=_share(completed.get(lesson.pk, 0), size),
        )
        for lesson in _published_lessons(course_id)
    ]
    return Funnel(cohort=size, steps=steps)


def course_funnel(
    *, course_id: UUID, period: Period, cohort_id: int | None = None
) -> list[FunnelStep]:
    """`course_funnel_cohort`'s steps (see there for which learners count)."""
    return course_funnel_cohort(course_id=course_id, period=period, cohort_id=cohort_id).steps


# --- Video retention and segments -----------------------------------------------------------
@dataclass(frozen=True)
class VideoLessonRef:
    lesson_id: UUID
    title: str
    duration_seconds: float


@dataclass(frozen=True)
class RetentionPoint:
    second: float
    share: float  # of the viewers whose watched ranges cover this second


@dataclass(frozen=True)
class Retention:
    duration_seconds: float
    viewers: int
    points: list[RetentionPoint]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    rewatches: int  # backward seeks whose [to, from] overlaps the segment
    skips: int  # forward seeks whose [from, to] overlaps the segment


def video_lessons(*, course_id: UUID) -> list[VideoLessonRef]:
    """The course's published video lessons in outline order. One query."""
    lessons = (
        Lesson.objects.filter(course_id=course_id, is_published=True, kind=Lesson.Kind.VIDEO)
        .select_related("video")
        .order_by("section__order", "order")
        .only("id", "title", "duration_seconds", "video__duration_seconds")
    )
    return [
        VideoLessonRef(lesson_id=lesson.pk, title=lesson.title, duration_seconds=_duration(lesson))
        for lesson in lessons
    ]


def _duration(lesson: Lesson) -> float:
    """The lesson's length: its own duration, else its video's probed one (0 if unknown)."""
    if lesson.duration_seconds:
        return float(lesson.duration_seconds)
    video = lesson.video if lesson.video_id else None
    return float(video.duration_seconds or 0) if video else 0.0


def _lesson_with_video(lesson_id: UUID) -> Lesson | None:
    return (
        Lesson.objects.filter(pk=lesson_id)
        .select_related("video")
        .only("id", "duration_seconds", "video__duration_seconds")
        .first()
    )


def merge_ranges(ranges: Iterable[Any]) -> list[tuple[float, float]]:
    """Well-formed `[start, end]` pairs, sorted and merged where they overlap or touch;
    anything else in the stored JSON is ignored."""
    pairs = []
    for item in ranges if isinstance(ranges, list) else ():
        try:
            start, end = float(item[0]), float(item[1])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if math.isfinite(start) and math.isfinite(end) and end >= start >= 0:
            pairs.append((start, end))
    pairs.sort()
    merged: list[tuple[float, float]] = []
    for start, end in pairs:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _viewer_ranges(
    lesson_id: UUID, period: Period, cohort_id: int | None = None
) -> list[list[tuple[float, float]]]:
    rows = LessonProgress.objects.filter(
        lesson_id=lesson_id,
        updated_at__gte=period.start_at,
        started_at__lt=period.end_before,
    )
    if cohort_id is not None:
        rows = rows.filter(user_id__in=cohort_member_ids(cohort_id=cohort_id))
    rows = rows.values_list("watched_ranges", flat=True)
    viewers = []
    for ranges in rows.iterator(chunk_size=2000):
        merged = merge_ranges(ranges)
        if merged:
            viewers.append(merged)
    return viewers


def video_retention(
    *, lesson_id: UUID, period: Period, points: int = 50, cohort_id: int | None = None
) -> Retention:
    """The share of viewers still watching at `points` evenly spaced seconds of the video,
    from the server-checked watched ranges. Viewers: learners with watched ranges in the
    lesson whose progress row was written during the period. The points are 0, d/n, ...,
    d·(n-1)/n for a video of d seconds; a point counts a viewer whose merged ranges cover it.
    Two queries; linear in the viewers' ranges."""
    points = max(points, 1)
    lesson = _lesson_with_video(lesson_id)
    viewers = _viewer_ranges(lesson_id, period, cohort_id) if lesson else []
    duration = _duration(lesson) if lesson else 0.0
    if not duration and viewers:
        duration = max(ranges[-1][1] for ranges in viewers)
    if not duration:
        return Retention(duration_seconds=0.0, viewers=len(viewers), points=[])
    seconds = [duration * index / points for index in range(points)]
    # A difference array over the sample points: each range adds one to the points it covers.
    delta = [0] * (points + 1)
    for ranges in viewers:
        for start, end in ranges:
            first = bisect.bisect_left(seconds, start)
            last = bisect.bisect_right(seconds, end)
            if first < last:
                delta[first] += 1
                delta[last] -= 1
    covered, curve = 0, []
    for index, second in enumerate(seconds):
        covered += delta[index]
        curve.append(RetentionPoint(second=round(second, 1), share=_share(covered, len(viewers))))
    return Retention(duration_seconds=duration, viewers=len(viewers), points=curve)


def video_segments(
    *, lesson_id: UUID, period: Period, segments: int = 20, cohort_id: int | None = None
) -> list[Segment]:
    """The video cut into `segments` equal parts, each with how many seeks during the period
    jumped back over it (rewatches: a `video.seek` with to < from rewatches [to, from]) and
    forward over it (skips: [from, to]). The seeks are bucketed and counted in SQL; two
    queries. Empty when the video's length is unknown."""
    segments = max(segments, 1)
    lesson = _lesson_with_video(lesson_id)
    duration = _duration(lesson) if lesson else 0.0
    if not duration:
        return []
    length = duration / segments
    events = Event.objects.filter(
        lesson_id=lesson_id,
        type="video.seek",
        occurred_at__gte=period.start_at,
        occurred_at__lt=period.end_before,
    )
    if cohort_id is not None:
        events = events.filter(user_id__in=cohort_member_ids(cohort_id=cohort_id))
    seeks = (
        events.annotate(
            seek_from=Cast(KT("properties__from"), FloatField()),
            seek_to=Cast(KT("properties__to"), FloatField()),
        )
        .filter(seek_from__isnull=False, seek_to__isnull=False)
        .exclude(seek_from=F("seek_to"))
        .annotate(
            backward=Q(seek_to__lt=F("seek_from")),
            first=Floor(Least("seek_from", "seek_to") / length),
            # A seek ending exactly on a boundary does not reach into the next segment.
            last=Ceil(Greatest("seek_from", "seek_to") / length) - 1,
        )
        .values("backward", "first", "last")
        .annotate(seeks=Count("id"))
    )
    rewatch = [0] * (segments + 1)
    skip = [0] * (segments + 1)
    for row in seeks:
        first = min(max(int(row["first"]), 0), segments - 1)
        last = min(max(int(row["last"]), 0), segments - 1)
        counts = rewatch if row["backward"] else skip
        counts[first] += row["seeks"]
        counts[last + 1] -= row["seeks"]
    result, rewatches, skips = [], 0, 0
    for index in range(segments):
        rewatches += rewatch[index]
        skips += skip[index]
        result.append(
            Segment(
                start=round(index * length, 1),
                end=round((index + 1) * length, 1),
                rewatches=rewatches,
                skips=skips,
            )
        )
    return result


# --- Quiz item analysis ---------------------------------------------------------------------
@dataclass(frozen=True)
class QuizLessonRef:
    lesson_id: UUID
    title: str


@dataclass(frozen=True)
class QuizItem:
    question_id: str
    prompt: str
    attempts: int  # attempts during the period that were graded on this question
    correct_share: float
    top_wrong_answer: str  # the wrong answer given most ("" when none was wrong)
    top_wrong_share: float  # attempts giving it / attempts


def quiz_lessons(*, course_id: UUID) -> list[QuizLessonRef]:
    """The course's published quiz lessons in outline order. One query."""
    lessons = Lesson.objects.filter(
        course_id=course_id, is_published=True, kind=Lesson.Kind.QUIZ
    ).order_by("section__order", "order")
    return [
        QuizLessonRef(lesson_id=pk, title=title) for pk, title in lessons.values_list("pk", "title")
    ]


# The attempts' stored results, one row per (question, kind, correct, answer) with its count:
# the JSON arrays are unnested and grouped by the database, so the page reads a few hundred
# rows, not every attempt's JSON. `answer` comes back as text (a short answer as given, a choice
# list as JSON).
_RESULTS_GROUPED = {
    "postgresql": (
        "SELECT r.value->>'question_id', r.value->>'kind', r.value->>'correct', "
        "r.value->>'answer', COUNT(*) "
        "FROM {table} a CROSS JOIN LATERAL jsonb_array_elements("
        "CASE WHEN jsonb_typeof(a.results) = 'array' THEN a.results ELSE '[]'::jsonb END) r "
        "WHERE a.lesson_id = %s AND a.created_at >= %s AND a.created_at < %s "
        "{cohort}AND jsonb_typeof(r.value) = 'object' "
        "GROUP BY 1, 2, 3, 4"
    ),
    "sqlite": (
        "SELECT json_extract(r.value, '$.question_id'), json_extract(r.value, '$.kind'), "
        "json_extract(r.value, '$.correct'), json_extract(r.value, '$.answer'), COUNT(*) "
        "FROM {table} a, json_each(CASE WHEN json_type(a.results) = 'array' "
        "THEN a.results ELSE '[]' END) r "
        "WHERE a.lesson_id = %s AND a.created_at >= %s AND a.created_at < %s "
        "{cohort}AND r.type = 'object' "
        "GROUP BY 1, 2, 3, 4"
    ),
}


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _answer_label(kind: str | None, answer: Any, choices: dict[str, str]) -> str:
    """What a learner answered, readable: the chosen choices' texts, or the short answer as
    normalized for grading. "" for no answer."""
    if answer is None or answer == "":
        return ""
    if kind == Question.Kind.SHORT:
        return " ".join(str(answer).split()).casefold()
    try:
        chosen = json.loads(answer) if isinstance(answer, str) else answer
    except ValueError:
        return ""
    if not isinstance(chosen, list) or not chosen:
        return ""
    return ", ".join(sorted(choices.get(str(choice), _REMOVED_CHOICE) for choice in chosen))


_REMOVED_CHOICE = "(a removed choice)"
_REMOVED_QUESTION = "(a question since removed from the quiz)"


@dataclass
class _ItemTally:
    attempts: int = 0
    correct: int = 0
    wrong: Counter = field(default_factory=Counter)


# Only a cohort's members' attempts: table names are ours, the cohort id a parameter.
_COHORT_ATTEMPTS = "AND a.user_id IN (SELECT m.user_id FROM {members} m WHERE m.cohort_id = %s) "


def _grouped_results(lesson_id: UUID, period: Period, cohort_id: int | None = None) -> list[tuple]:
    cohort = (
        _COHORT_ATTEMPTS.format(members=CohortMembership._meta.db_table)
        if cohort_id is not None
        else ""
    )
    sql = _RESULTS_GROUPED[connection.vendor].format(
        table=QuizAttempt._meta.db_table, cohort=cohort
    )
    lesson = lesson_id.hex if connection.vendor == "sqlite" else lesson_id
    params = [lesson, period.start_at, period.end_before]
    if connection.vendor == "sqlite":
        params[1:] = [connection.ops.adapt_datetimefield_value(v) for v in params[1:]]
    if cohort_id is not None:
        params.append(cohort_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def quiz_items(*, lesson_id: UUID, period: Period, cohort_id: int | None = None) -> list[QuizItem]:
    """Item analysis of a quiz from its attempts submitted during the period: for each
    question, the attempts graded on it, the share correct, and the wrong answer given most
    (unanswered questions count as wrong but name no answer; choices by their current text).
    Every attempt counts, retries included. Questions in the quiz's current order, then ones
    since deleted. Three queries: the stored results are grouped in SQL."""
    questions = list(
        Question.objects.filter(quiz__lesson_id=lesson_id)
        .order_by("order")
        .prefetch_related("choices")
    )
    choices = {str(c.pk): c.text for q in questions for c in q.choices.all()}
    tallies: dict[str, _ItemTally] = defaultdict(_ItemTally)
    for question_id, kind, correct, answer, count in _grouped_results(lesson_id, period, cohort_id):
        if not question_id:
            continue
        tally = tallies[str(question_id)]
        tally.attempts += count
        if _truthy(correct):
            tally.correct += count
        elif label := _answer_label(kind, answer, choices):
            tally.wrong[label] += count
    order = [str(q.pk) for q in questions]
    prompts = {str(q.pk): q.prompt for q in questions}
    order += sorted(set(tallies) - set(order))
    items = []
    for question_id in order:
        tally = tallies.get(question_id) or _ItemTally()
        # The most frequent wrong answer; ties go to the alphabetically first, for stable pages.
        top, count = min(tally.wrong.items(), key=lambda kv: (-kv[1], kv[0]), default=("", 0))
        items.append(
            QuizItem(
                question_id=question_id,
                prompt=prompts.get(question_id, _REMOVED_QUESTION),
                attempts=tally.attempts,
                correct_share=_share(tally.correct, tally.attempts),
                top_wrong_answer=top,
                top_wrong_share=_share(count, tally.attempts),
            )
        )
    return items


# --- School ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchoolPoint:
    day: dt.date
    signups: int
    active_learners: int


def school_series(*, period: Period) -> list[SchoolPoint]:
    """Per day: signups and active learners (distinct users with any event that day), from
    the school's daily rollups. One query."""
    rows = {
        day: (signups, active)
        for day, signups, active in SchoolDay.objects.filter(
            day__gte=period.start, day__lte=period.end
        ).values_list("day", "signups", "active_learners")
    }
    return [
        SchoolPoint(
            day=day, signups=rows.get(day, (0, 0))[0], active_learners=rows.get(day, (0, 0))[1]
        )
        for day in period.each_day()
    ]


# --- Subscriptions and revenue --------------------------------------------------------------
@dataclass(frozen=True)
class TierPoint:
    day: dt.date
    tier_slug: str  # "" for subscriptions whose Stripe price matches no plan
    tier_name: str
    subscribers: int  # at the end of the day
    mrr_cents: int  # monthly recurring revenue at the end of the day, minor units
    currency: str
    started: int
    churned: int


@dataclass(frozen=True)
class TierSummary:
    tier_slug: str
    tier_name: str
    subscribers_start: int  # at the start of the period's first day
    subscribers_end: int  # at the end of its last day
    started: int
    churned: int
    churn_rate: float | None  # churned / subscribers_start; None without subscribers at start
    mrr_cents_end: int
    currency: str


# Months per billing interval: a yearly price counts a twelfth of it per month.
_MONTHS_PER_INTERVAL = {
    "month": Fraction(1),
    "year": Fraction(12),
    "week": Fraction(12, 52),
    "day": Fraction(12, 365),
}
# Subscriptions that never started paying (a checkout abandoned or never confirmed).
_NEVER_STARTED = (Subscription.Status.INCOMPLETE, Subscription.Status.INCOMPLETE_EXPIRED)
_UNMATCHED = "Unmatched price"


@dataclass(frozen=True)
class _Life:
    """One subscription as an interval of days: subscriber from `first` through `last`."""

    key: tuple[str, str, str]  # tier slug, tier name, currency
    first: dt.date
    last: dt.date | None  # None: still subscribed
    monthly_cents: Fraction


def _subscription_end(sub: dict[str, Any]) -> dt.datetime | None:
    if sub["status"] in Subscription.FINAL_STATUSES or sub["ended_at"]:
        return sub["ended_at"] or sub["canceled_at"] or sub["synced_at"]
    return None


def _lives(period: Period) -> list[_Life]:
    rows = (
        Subscription.objects.exclude(status__in=_NEVER_STARTED)
        .filter(created_at__lt=period.end_before)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=period.start_at - dt.timedelta(days=1)))
        .values(
            "status",
            "created_at",
            "ended_at",
            "canceled_at",
            "synced_at",
            "interval",
            "amount_cents",
            "currency",
            tier_slug=F("plan__tier__slug"),
            tier_name=F("plan__tier__name"),
        )
    )
    lives = []
    for sub in rows:
        end = _subscription_end(sub)
        first = local_day(sub["created_at"])
        # A subscription ending on a day is no longer a subscriber at that day's end.
        last = local_day(end) - dt.timedelta(days=1) if end else None
        if last is not None and (last < first - dt.timedelta(days=1)):
            last = first - dt.timedelta(days=1)
        months = _MONTHS_PER_INTERVAL.get(sub["interval"] or "month", Fraction(1))
        lives.append(
            _Life(
                key=(
                    sub["tier_slug"] or "",
                    sub["tier_name"] or _UNMATCHED,
                    (sub["currency"] or "").lower(),
                ),
                first=first,
                last=last,
                monthly_cents=Fraction(sub["amount_cents"] or 0) / months,
            )
        )
    return lives


def _series_by_key(
    period: Period, lives: list[_Life]
) -> dict[tuple[str, str, str], list[TierPoint]]:
    """Difference arrays per (tier, currency): +1 on the first day, -1 after the last."""
    days = period.days
    index = {key: n for n, key in enumerate(sorted({life.key for life in lives}))}
    count_delta = [[0] * (days + 1) for _ in index]
    mrr_delta = [[Fraction(0)] * (days + 1) for _ in index]
    started = [[0] * days for _ in index]
    churned = [[0] * days for _ in index]
    for life in lives:
        k = index[life.key]
        begin = max((life.first - period.start).days, 0)
        stop = days if life.last is None else min((life.last - period.start).days + 1, days)
        if 0 <= (life.first - period.start).days < days:
            started[k][(life.first - period.start).days] += 1
        if life.last is not None:
            churn_day = (life.last - period.start).days + 1
            if 0 <= churn_day < days:
                churned[k][churn_day] += 1
        if begin < stop:
            count_delta[k][begin] += 1
            count_delta[k][stop] -= 1
            mrr_delta[k][begin] += life.monthly_cents
            mrr_delta[k][stop] -= life.monthly_cents
    series: dict[tuple[str, str, str], list[TierPoint]] = {}
    for key, k in index.items():
        count, mrr, points = 0, Fraction(0), []
        for offset, day in enumerate(period.each_day()):
            count += count_delta[k][offset]
            mrr += mrr_delta[k][offset]
            points.append(
                TierPoint(
                    day=day,
                    tier_slug=key[0],
                    tier_name=key[1],
                    subscribers=count,
                    mrr_cents=round(mrr),
                    currency=key[2],
                    started=started[k][offset],
                    churned=churned[k][offset],
                )
            )
        series[key] = points
    return series


def subscription_series(*, period: Period) -> list[TierPoint]:
    """Per day and per (tier, currency): subscribers and MRR at the end of the day, and the
    subscriptions started and churned that day, from the subscriptions Stripe reported.
    Ordered by tier, currency, day; only tiers with a subscription in the period. One
    query; linear in subscriptions and days."""
    series = _series_by_key(period, _lives(period))
    return [point for key in sorted(series) for point in series[key]]


def subscription_summary(*, period: Period) -> list[TierSummary]:
    """Per (tier, currency) over the period: subscribers at its start and end, started,
    churned, churn rate (churned / subscribers at the start) and MRR at the end."""
    lives = _lives(period)
    day_before = period.start - dt.timedelta(days=1)
    at_start: Counter = Counter(
        life.key
        for life in lives
        if life.first <= day_before and (life.last is None or life.last >= day_before)
    )
    summaries = []
    for key, points in sorted(_series_by_key(period, lives).items()):
        churned = sum(point.churned for point in points)
        start = at_start[key]
        summaries.append(
            TierSummary(
                tier_slug=key[0],
                tier_name=key[1],
                subscribers_start=start,
                subscribers_end=points[-1].subscribers,
                started=sum(point.started for point in points),
                churned=churned,
                churn_rate=churned / start if start else None,
                mrr_cents_end=points[-1].mrr_cents,
                currency=key[2],
            )
        )
    return summaries
