"""The progress engine: every lesson completion, video heartbeat and quiz pass goes through
`progress_apply`, one batch at a time, whether it is one click on a page or 500 offline events.

One batch is one transaction that
1. locks the learner's `LearnerStats` row (so one learner's writes queue up, and every read
   below sees what the previous write committed);
2. reads what it needs in a fixed number of queries (the lessons with their courses, the
   progress rows, the enrollments, what became of the client ids sent before);
3. applies the events in memory, in the order they happened;
4. writes back in bulk: the progress rows by upsert on `(user, lesson)`, the XP awards under
   their unique source keys, enrollments, certificates, activity days and the stats.

So the number of queries does not depend on the number of events or lessons, a replayed
event is recognised by its client id, and a repeated completion finds the row completed and
awards nothing. Only applied events count as seen: one refused (say, before the learner
subscribed) is evaluated again when the app resends it.
"""

import itertools
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import Count, Exists, FilteredRelation, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators
from django.utils import timezone

from accounts.models import User
from catalog.access import (
    Access,
    course_access,
    course_is_visible,
    lesson_access,
    lesson_is_visible,
    structure_for,
)
from catalog.models import Course, Lesson
from catalog.structure import (
    Structure,
    course_rules_prefetch,
    course_structure_plain,
    lesson_rule_flags,
)
from lms.codes import readable_codes_generate
from lms.errors import ApplicationError, ErrorCode, NotFoundError
from lms.events import ServerEvent, server_events_record
from lms.inserts import (
    Statement,
    row_upsert_returning,
    rows_insert_new,
    statements_run,
    upsert_statement,
)
from progress.models import (
    ActivityDay,
    Certificate,
    Enrollment,
    LearnerStats,
    LessonProgress,
    ProgressEvent,
    XPAward,
)
from progress.paths import services as paths
from progress.services.certificates import certificate_name_for, certificates_notify
from progress.services.enrollments import enrollment_event

# Clocks drift: an offline event may be dated a little after the server's "now".
CLOCK_SKEW = timedelta(minutes=2)
# Heartbeats arrive with network jitter: a few seconds of advance beyond what the elapsed
# time allows is still watching.
HEARTBEAT_SLACK_SECONDS = 3.0
CERTIFICATE_CODE_LENGTH = 12

# Event kinds clients may send; `KIND_QUIZ` (a passed quiz) comes from quiz_attempt_submit.
KIND_COMPLETE = ProgressEvent.Kind.COMPLETE
KIND_POSITION = ProgressEvent.Kind.POSITION
KIND_QUIZ = "quiz"

RESULT_APPLIED = "applied"
RESULT_DUPLICATE = "duplicate"
RESULT_STALE = "stale"

MANUAL_KINDS = (Lesson.Kind.TEXT, Lesson.Kind.LAB)


@dataclass(frozen=True)
class ProgressEventIn:
    kind: str
    lesson_id: uuid.UUID
    client_id: uuid.UUID | None = None
    occurred_at: datetime | None = None
    position_seconds: float | None = None


@dataclass
class EventOutcome:
    client_id: uuid.UUID | None
    lesson_id: uuid.UUID
    kind: str
    result: str
    progress: LessonProgress | None = None
    xp_awarded: int = 0
    # When the access policy refused it: the decision, with a structure lock's details.
    refusal: Access | None = None

    @property
    def applied(self) -> bool:
        return self.result == RESULT_APPLIED


@dataclass
class ProgressOutcome:
    events: list[EventOutcome]
    stats: LearnerStats
    xp_awarded: int = 0
    completed_lessons: list[Lesson] = field(default_factory=list)
    completed_courses: list[Course] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    xp_by_lesson: dict[uuid.UUID, int] = field(default_factory=dict)
    # The learner's enrollment in each course the batch worked in, as written.
    enrollments: dict[uuid.UUID, Enrollment] = field(default_factory=dict)
    # The batch's lessons as it read them (with their courses), whether or not visible.
    lessons: dict[uuid.UUID, Lesson] = field(default_factory=dict)


# --- Pure helpers ---------------------------------------------------------------------------
def ranges_merge(ranges: Iterable[Sequence[float]]) -> list[list[float]]:
    """Merge overlapping or touching `[start, end]` ranges, sorted by start."""
    merged: list[list[float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in ranges if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def ranges_length(ranges: Iterable[Sequence[float]]) -> float:
    return sum(end - start for start, end in ranges)


def user_local_date(*, user: User, moment: datetime) -> date:
    """The calendar day of `moment` in the learner's own time zone."""
    return timezone.localtime(moment, user.zoneinfo).date()


def streaks_from_days(days: Iterable[date]) -> tuple[int, int, date | None]:
    """(run ending on the last day, longest run, last day) of a set of activity days."""
    ordered = sorted(set(days))
    if not ordered:
        return 0, 0, None
    longest = run = 1
    for previous, current in itertools.pairwise(ordered):
        run = run + 1 if (current - previous).days == 1 else 1
        longest = max(longest, run)
    return run, longest, ordered[-1]


# --- Locking and reading --------------------------------------------------------------------
def learner_stats_lock(*, user: User) -> LearnerStats:
    """Create the learner's stats row if needed and lock it for this transaction: one
    `INSERT ... ON CONFLICT (user) DO UPDATE ... RETURNING`, which takes the row lock (and
    waits for a parallel write of the same learner) and reads the row as committed."""
    stats = row_upsert_returning(
        LearnerStats(user=user, updated_at=timezone.now()),
        unique_fields=["user"],
        update_fields=["user"],
    )
    stats.user = user
    return stats


@dataclass
class _Loaded:
    """What a batch reads about its lessons, in one query (`_lessons_load`)."""

    lessons: dict[uuid.UUID, Lesson]
    rows: dict[uuid.UUID, LessonProgress]
    enrollments: dict[uuid.UUID, Enrollment]


def _lessons_queryset(*, user_id: uuid.UUID, lessons: Q) -> models.QuerySet[Lesson]:
    taught = Course.instructors.through.objects.filter(
        course_id=OuterRef("course_id"), user_id=user_id
    )
    return (
        Lesson.objects.filter(lessons)
        .annotate(
            own_progress=FilteredRelation("progress", condition=Q(progress__user_id=user_id)),
            own_enrollment=FilteredRelation(
                "course__enrollments", condition=Q(course__enrollments__user_id=user_id)
            ),
            taught_by_user=Exists(taught),
            # Whether the course has structure rules at all: without, none need loading.
            **lesson_rule_flags(),
        )
        .select_related("course", "course__required_tier", "own_progress", "own_enrollment")
        .order_by()
    )


# Stand-ins compiled into `_LessonsStatement`'s SQL, replaced by the batch's values.
_ANY_USER = uuid.UUID(int=0)
_ANY_LESSONS = "{}"


class _LessonsStatement:
    """`_lessons_queryset` on PostgreSQL, compiled by the ORM once per connection instead of
    on every batch (compiling it was two thirds of the read): the SQL takes the learner's id
    where the ORM put it and the lesson ids as one array, and the rows become instances as
    the ORM's own iterator makes them (its select, converters and related populators)."""

    def __init__(self, connection_: object) -> None:
        table, column = Lesson._meta.db_table, Lesson._meta.pk.column
        quote = connection.ops.quote_name
        # Identifiers from the model's meta only; the ids are a parameter.
        ids = RawSQL(  # noqa: S611
            f"{quote(table)}.{quote(column)} = ANY(%s::uuid[])",
            [_ANY_LESSONS],
            output_field=models.BooleanField(),
        )
        queryset = _lessons_queryset(user_id=_ANY_USER, lessons=Q(ids))
        self.compiler = queryset.query.get_compiler(connection=connection_)
        self.sql, params = self.compiler.as_sql()
        self.user_at = [index for index, value in enumerate(params) if value == _ANY_USER]
        self.lessons_at = [index for index, value in enumerate(params) if value == _ANY_LESSONS]
        self.params = list(params)
        klass_info, select = self.compiler.klass_info, self.compiler.select
        fields = klass_info["select_fields"]
        self.own = slice(fields[0], fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[self.own]]
        self.populators = get_related_populators(klass_info, select, connection_.alias)
        self.annotations = self.compiler.annotation_col_map
        # Three places for the learner (their row, their enrollment, teaching), one for the
        # lessons: anything else means the ORM wrote the query differently, so it is not used.
        self.usable = len(self.user_at) == 3 and len(self.lessons_at) == 1

    def lessons(self, *, user: User, lesson_ids: set[uuid.UUID]) -> list[Lesson]:
        params = list(self.params)
        for index in self.user_at:
            params[index] = user.pk
        params[self.lessons_at[0]] = _array_literal(lesson_ids)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        found = []
        for row in self.compiler.results_iter(results=[rows]):
            lesson = Lesson.from_db(connection.alias, self.init_list, row[self.own])
            for populator in self.populators:
                populator.populate(row, lesson)
            for name, position in self.annotations.items():
                setattr(lesson, name, row[position])
            found.append(lesson)
        return found


# One per database connection (a compiler belongs to its connection); dropped with it.
_lessons_statements: weakref.WeakKeyDictionary[object, _LessonsStatement] = (
    weakref.WeakKeyDictionary()
)


def _lessons_read(*, user: User, lesson_ids: set[uuid.UUID]) -> list[Lesson]:
    if connection.vendor == "postgresql":
        wrapper = connections[DEFAULT_DB_ALIAS]  # this thread's connection
        statement = _lessons_statements.get(wrapper)
        if statement is None:
            statement = _lessons_statements[wrapper] = _LessonsStatement(wrapper)
        if statement.usable:
            return statement.lessons(user=user, lesson_ids=lesson_ids)
    return list(_lessons_queryset(user_id=user.pk, lessons=Q(pk__in=lesson_ids)))


def _lessons_load(*, user: User, lesson_ids: set[uuid.UUID]) -> _Loaded:
    """The batch's lessons with their courses and tiers, whether each course has structure
    rules, whether the learner teaches it, and the learner's progress row in each lesson and
    enrollment in each course, all in one query (under the learner's lock, so as committed by
    their previous batch)."""
    loaded = _Loaded(lessons={}, rows={}, enrollments={})
    courses: dict[uuid.UUID, Course] = {}
    for lesson in _lessons_read(user=user, lesson_ids=lesson_ids):
        # One instance per course, so its rules and access are decided once.
        course = courses.setdefault(lesson.course_id, lesson.course)
        lesson.course = course
        _instructors_known(course, user=user, teaches=lesson.taught_by_user)
        loaded.lessons[lesson.pk] = lesson
        # (A LEFT JOIN that found no row leaves the attribute unset.)
        row = getattr(lesson, "own_progress", None)
        if row is not None:
            loaded.rows[lesson.pk] = row
        enrollment = getattr(lesson, "own_enrollment", None)
        if enrollment is not None:
            loaded.enrollments[lesson.course_id] = enrollment
    return loaded


def _instructors_known(course: Course, *, user: User, teaches: bool) -> None:
    """Hold the course's instructors as far as this learner goes (them, or no one), as
    `Prefetch("instructors", queryset=User.objects.filter(pk=user.pk))` would: the access
    policy's `is_course_editor` then asks no query."""
    if "instructors" in getattr(course, "_prefetched_objects_cache", {}):
        return
    instructors = course.instructors.all()
    instructors._result_cache = [user] if teaches else []
    instructors._prefetch_done = True
    course._prefetched_objects_cache = {
        **getattr(course, "_prefetched_objects_cache", {}),
        "instructors": instructors,
    }


class _AccessCache:
    """The access policy per course, decided once per batch: the tier and the structure
    rules (`catalog.structure`) with the learner's facts as the batch starts. Completions
    applied earlier in the batch count (`Structure.completing`, no query), so an offline
    batch completing a sequential course's lessons in order applies them all; only the
    starting facts (enrollment, cohort, prerequisite courses, early unlocks) are those of
    the batch's start."""

    def __init__(self, user: User, lessons: Iterable[Lesson]) -> None:
        self.user = user
        self.decisions: dict[uuid.UUID, Access] = {}
        self.structures: dict[uuid.UUID, Structure] = {}
        # The rules of every course in the batch that has any, at once: the same queries
        # for 1 course or 100.
        course_rules_prefetch(
            courses=[lesson.course for lesson in lessons if not lesson.rules_course_plain]
        )

    def structure(self, lesson: Lesson) -> Structure:
        course = lesson.course
        if course.pk not in self.structures:
            self.structures[course.pk] = (
                course_structure_plain(course=course)
                if lesson.rules_course_plain
                else structure_for(user=self.user, course=course)
            )
        return self.structures[course.pk]

    def visible(self, lesson: Lesson) -> bool:
        """Whether the lesson exists for the learner (hidden ones do not)."""
        course = lesson.course
        if not course_is_visible(user=self.user, course=course):
            return False
        if lesson.is_published and not lesson.is_hidden:
            return not self.structure(lesson).lesson_hidden(lesson)
        return lesson_is_visible(user=self.user, course=course, lesson=lesson)

    def lesson(self, lesson: Lesson) -> Access:
        course = lesson.course
        if course.pk not in self.decisions:
            self.decisions[course.pk] = course_access(user=self.user, course=course)
        decision = self.decisions[course.pk]
        if decision.locked and not lesson.is_free_preview:
            return decision  # tier-locked: the structure is not needed
        return lesson_access(
            user=self.user,
            course=course,
            lesson=lesson,
            course_decision=decision,
            structure=self.structure(lesson),
        )

    def completed(self, lesson: Lesson) -> None:
        """The batch completed this lesson: later events may open what it required."""
        structure = self.structures.get(lesson.course_id)
        if structure is not None:
            self.structures[lesson.course_id] = structure.completing([lesson.pk])


# --- The engine -----------------------------------------------------------------------------
@dataclass
class _Batch:
    """The in-memory state of one batch between reading and writing."""

    user: User
    now: datetime
    rows: dict[uuid.UUID, LessonProgress]
    # The learner's enrollments in the batch's courses, as read with the lessons.
    enrollments: dict[uuid.UUID, Enrollment]
    touched: dict[uuid.UUID, LessonProgress] = field(default_factory=dict)
    newly_completed: dict[uuid.UUID, Lesson] = field(default_factory=dict)
    quiz_passed: dict[uuid.UUID, Lesson] = field(default_factory=dict)
    last_lesson: dict[uuid.UUID, tuple[datetime, Lesson]] = field(default_factory=dict)
    days: set[date] = field(default_factory=set)
    # The access policy's refusals by lesson, so a single call can raise them in full
    # (a structure lock's message and opening instant).
    refusals: dict[uuid.UUID, Access] = field(default_factory=dict)

    # Writes nobody reads back, run together at the end (`lms.inserts.statements_run`).
    writes: list[Statement] = field(default_factory=list)

    def upsert(
        self,
        model: type[models.Model],
        objs: list[models.Model],
        *,
        unique_fields: list[str],
        update_fields: list[str],
    ) -> None:
        """An upsert of these rows, sent with the batch's last writes on PostgreSQL (right
        away elsewhere: SQLite splits large inserts into several statements)."""
        if connection.vendor != "postgresql":
            model.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=unique_fields,
                update_fields=update_fields,
            )
            return
        self.writes.append(
            upsert_statement(model, objs, unique_fields=unique_fields, update_fields=update_fields)
        )
        for obj in objs:  # as bulk_create leaves them: stored
            obj._state.adding, obj._state.db = False, connection.alias

    def row(self, lesson: Lesson, at: datetime) -> LessonProgress:
        row = self.rows.get(lesson.pk)
        if row is None:
            row = LessonProgress(
                user=self.user,
                lesson=lesson,
                course_id=lesson.course_id,
                status=LessonProgress.Status.IN_PROGRESS,
                started_at=at,
                updated_at=at,
            )
            self.rows[lesson.pk] = row
        return row

    def touch(self, row: LessonProgress, lesson: Lesson, at: datetime) -> None:
        row.updated_at = max(row.updated_at, at)
        self.touched[lesson.pk] = row
        seen = self.last_lesson.get(lesson.course_id)
        if seen is None or at >= seen[0]:
            self.last_lesson[lesson.course_id] = (at, lesson)
        self.days.add(user_local_date(user=self.user, moment=at))

    def complete(self, row: LessonProgress, lesson: Lesson, at: datetime) -> None:
        if row.status != LessonProgress.Status.COMPLETED:
            row.status = LessonProgress.Status.COMPLETED
            row.completed_at = at
            self.newly_completed[lesson.pk] = lesson


def _apply_position(batch: _Batch, lesson: Lesson, position: float, at: datetime) -> str:
    """Record a player position; credit the stretch since the last heartbeat as watched only
    when the player could have played it in the time that passed."""
    row = batch.row(lesson, at)
    if row.last_heartbeat_at is not None and at <= row.last_heartbeat_at:
        return RESULT_STALE  # an older heartbeat never moves the position back
    duration = float(lesson.duration_seconds)
    position = max(0.0, min(position, duration) if duration else position)
    if row.last_heartbeat_at is not None:
        elapsed = (at - row.last_heartbeat_at).total_seconds()
        advanced = position - row.position_seconds
        max_rate = settings.LMS_VIDEO_MAX_PLAYBACK_RATE
        # The jitter allowance grows with the time that passed, so a burst of heartbeats
        # sent within a second cannot add up to minutes of "watching".
        if 0 < advanced <= elapsed * max_rate + min(HEARTBEAT_SLACK_SECONDS, elapsed):
            row.watched_ranges = ranges_merge(
                [*row.watched_ranges, [row.position_seconds, position]]
            )
            row.watched_seconds = ranges_length(row.watched_ranges)
    row.position_seconds = position
    row.last_heartbeat_at = at
    if duration and row.watched_seconds >= duration * settings.LMS_VIDEO_COMPLETE_THRESHOLD:
        batch.complete(row, lesson, at)
    batch.touch(row, lesson, at)
    return RESULT_APPLIED


def _apply_one(
    batch: _Batch, event: ProgressEventIn, lesson: Lesson | None, access: _AccessCache
) -> str:
    if lesson is None or not access.visible(lesson):
        return ErrorCode.LESSON_NOT_FOUND
    if lesson.is_preview_only:
        return ErrorCode.PREVIEW_ONLY
    decision = access.lesson(lesson)
    if decision.locked:
        batch.refusals[lesson.pk] = decision
        return decision.denial_code
    at = event.occurred_at or batch.now
    if event.kind == KIND_POSITION:
        if lesson.kind != Lesson.Kind.VIDEO:
            return ErrorCode.POSITION_NOT_VIDEO
        return _apply_position(batch, lesson, float(event.position_seconds or 0), at)
    if event.kind == KIND_COMPLETE:
        if lesson.kind not in MANUAL_KINDS:
            return ErrorCode.COMPLETION_NOT_MANUAL
    elif event.kind == KIND_QUIZ:
        if lesson.kind != Lesson.Kind.QUIZ:
            return ErrorCode.QUIZ_NOT_FOUND
        batch.quiz_passed[lesson.pk] = lesson
    else:
        return ErrorCode.VALIDATION_ERROR
    row = batch.row(lesson, at)
    batch.complete(row, lesson, at)
    batch.touch(row, lesson, at)
    access.completed(lesson)
    return RESULT_APPLIED


def _awards_for_lessons(batch: _Batch) -> list[XPAward]:
    awards = []
    for lesson in batch.newly_completed.values():
        if lesson.xp_value:
            awards.append(
                XPAward(
                    reason=XPAward.Reason.LESSON_COMPLETED,
                    source_key=f"lesson:{lesson.pk}",
                    amount=lesson.xp_value,
                    course_id=lesson.course_id,
                    lesson=lesson,
                )
            )
        if lesson.is_boss and settings.LMS_XP_BOSS_BONUS:
            awards.append(
                XPAward(
                    reason=XPAward.Reason.BOSS_BONUS,
                    source_key=f"boss:{lesson.pk}",
                    amount=settings.LMS_XP_BOSS_BONUS,
                    course_id=lesson.course_id,
                    lesson=lesson,
                )
            )
    for lesson in batch.quiz_passed.values():
        if settings.LMS_XP_QUIZ_PASS:
            awards.append(
                XPAward(
                    reason=XPAward.Reason.QUIZ_PASSED,
                    source_key=f"quiz:{lesson.pk}",
                    amount=settings.LMS_XP_QUIZ_PASS,
                    course_id=lesson.course_id,
                    lesson=lesson,
                )
            )
    return awards


def _courses_completed(
    *, user: User, course_ids: set[uuid.UUID], completing: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Of these courses, those whose every published required lesson the user completed,
    before this batch or in it (`completing`, whose rows are not written yet): one aggregate
    query; a course without required lessons is never completed."""
    done = LessonProgress.objects.filter(
        user=user, lesson=OuterRef("pk"), status=LessonProgress.Status.COMPLETED
    )
    counts = (
        # Hidden lessons (and lessons of hidden sections) never count: `catalog.structure`.
        Lesson.objects.filter(
            course_id__in=course_ids,
            is_published=True,
            is_required=True,
            is_hidden=False,
            section__is_hidden=False,
        )
        .order_by()
        .values("course_id")
        # EXISTS per lesson, not a join: other learners' rows must not multiply the counts.
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(Exists(done)) | Q(pk__in=list(completing))),
        )
    )
    return {row["course_id"] for row in counts if row["total"] and row["done"] >= row["total"]}


def _write(batch: _Batch, stats: LearnerStats) -> ProgressOutcome:
    user, now = batch.user, batch.now
    outcome = ProgressOutcome(events=[], stats=stats)
    if batch.touched:
        # One upsert for every row this batch changed, new or not.
        batch.upsert(
            LessonProgress,
            list(batch.touched.values()),
            unique_fields=["user", "lesson"],
            update_fields=[
                "status",
                "position_seconds",
                "watched_seconds",
                "watched_ranges",
                "last_heartbeat_at",
                "completed_at",
                "updated_at",
            ],
        )

    # Enrollments: learning in a course enrolls you (again); remember where you were.
    courses = {lesson.course_id: lesson.course for _at, lesson in batch.last_lesson.values()}
    enrollments = batch.enrollments
    new_enrollments, changed_enrollments, revived = [], [], []
    for course_id, (at, lesson) in batch.last_lesson.items():
        enrollment = enrollments.get(course_id)
        if enrollment is None:
            enrollment = Enrollment(
                user=user, course_id=course_id, source=Enrollment.Source.SELF, created_at=at
            )
            enrollments[course_id] = enrollment
            new_enrollments.append(enrollment)
        else:
            changed_enrollments.append(enrollment)
            if enrollment.last_activity_at and enrollment.last_activity_at > at:
                continue  # an older offline event does not move "continue" back
        if enrollment.unenrolled_at is not None:
            revived.append(enrollment)
        enrollment.unenrolled_at = None
        enrollment.last_lesson = lesson
        enrollment.last_activity_at = at

    awards = _awards_for_lessons(batch)
    completed_course_ids: set[uuid.UUID] = set()
    if batch.newly_completed:
        # Only a newly completed lesson that counts can complete its course: then one
        # aggregate query (not a read of the course's lessons) says whether it did.
        candidates = {
            lesson.course_id
            for lesson in batch.newly_completed.values()
            if enrollments[lesson.course_id].completed_at is None
            and lesson.is_required
            and lesson.is_published
            and not lesson.is_hidden
        }
        if candidates:
            completed_course_ids = _courses_completed(
                user=user, course_ids=candidates, completing=batch.newly_completed
            )
    for course_id in completed_course_ids:
        enrollments[course_id].completed_at = now
        if settings.LMS_XP_COURSE_COMPLETE:
            awards.append(
                XPAward(
                    reason=XPAward.Reason.COURSE_COMPLETED,
                    source_key=f"course:{course_id}",
                    amount=settings.LMS_XP_COURSE_COMPLETE,
                    course_id=course_id,
                )
            )

    if new_enrollments or changed_enrollments:
        # One upsert for the new and the changed (read above, under the learner's lock).
        batch.upsert(
            Enrollment,
            [*new_enrollments, *changed_enrollments],
            unique_fields=["user", "course"],
            update_fields=["unenrolled_at", "last_lesson", "last_activity_at", "completed_at"],
        )
    outcome.enrollments = enrollments

    if awards:
        for award in awards:
            award.user = user
            award.created_at = now
        # One insert; a source already in the ledger is skipped (its XP was given before).
        _count, inserted = rows_insert_new(XPAward, awards, returning=["source_key"])
        new_keys = {source_key for (source_key,) in inserted}
        awards = [award for award in awards if award.source_key in new_keys]
        outcome.xp_awarded = sum(award.amount for award in awards)
        stats.xp_total += outcome.xp_awarded

    if completed_course_ids:
        outcome.certificates = _certificates_issue(
            user=user, courses=[courses[course_id] for course_id in completed_course_ids], now=now
        )
        issued = outcome.certificates
        transaction.on_commit(lambda: certificates_notify(user=user, certificates=issued))
        # Paths these courses complete (after commit: a racing completion's is then visible).
        transaction.on_commit(
            lambda: paths.path_certificates_issue(user=user, course_ids=completed_course_ids),
            robust=True,
        )
        outcome.completed_courses = [courses[course_id] for course_id in completed_course_ids]

    _server_events_record(
        batch, enrolled=new_enrollments, revived=revived, completed_courses=completed_course_ids
    )
    if batch.days:
        _streak_update(user=user, stats=stats, days=batch.days)
    stats.updated_at = now
    batch.writes.append(_stats_update(stats))
    outcome.completed_lessons = list(batch.newly_completed.values())
    for award in awards:
        if award.lesson_id:
            outcome.xp_by_lesson[award.lesson_id] = (
                outcome.xp_by_lesson.get(award.lesson_id, 0) + award.amount
            )
    return outcome


def _server_events_record(
    batch: _Batch,
    *,
    enrolled: list[Enrollment],
    revived: list[Enrollment],
    completed_courses: set[uuid.UUID],
) -> None:
    """The batch's analytics events (enrollments, lesson and course completions), in its
    transaction and one INSERT; each fact's key makes a replayed batch store nothing twice."""
    user_id, now = batch.user.pk, batch.now
    events = [enrollment_event(enrollment=enrollment, revived=False) for enrollment in enrolled] + [
        enrollment_event(enrollment=enrollment, revived=True, at=now) for enrollment in revived
    ]
    events += [
        ServerEvent(
            type="lesson.completed",
            key=f"{user_id}:{lesson.pk}",
            user_id=user_id,
            occurred_at=batch.rows[lesson.pk].completed_at or now,
            course_id=lesson.course_id,
            lesson_id=lesson.pk,
        )
        for lesson in batch.newly_completed.values()
    ]
    events += [
        ServerEvent(
            type="course.completed",
            key=f"{user_id}:{course_id}",
            user_id=user_id,
            occurred_at=now,
            course_id=course_id,
        )
        for course_id in completed_courses
    ]
    server_events_record(events=events)


def _stats_update(stats: LearnerStats) -> Statement:
    """`stats.save()` as a statement: the totals and streaks the batch computed."""
    quote = connection.ops.quote_name
    names = ("xp_total", "current_streak", "longest_streak", "last_active_day", "updated_at")
    fields = [LearnerStats._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    key = LearnerStats._meta.pk
    # Identifiers from the model's meta only; every value is a parameter.
    sql = (
        f"UPDATE {quote(LearnerStats._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(key.column)} = %s"
    )
    params = [field.get_db_prep_save(getattr(stats, field.attname), connection) for field in fields]
    return sql, [*params, key.get_db_prep_value(stats.pk, connection)]


def _certificates_issue(*, user: User, courses: list[Course], now: datetime) -> list[Certificate]:
    # The learner's name, never the email (the certificate page is public); "" asks them.
    name = certificate_name_for(user=user)
    codes = readable_codes_generate(
        count=len(courses),
        length=CERTIFICATE_CODE_LENGTH,
        taken=lambda codes: set(
            Certificate.objects.filter(code__in=codes).values_list("code", flat=True)
        ),
    )
    certificates = [
        Certificate(
            code=code,
            user=user,
            course=course,
            learner_name=name,
            course_title=course.title,
            issued_at=now,
        )
        for course, code in zip(courses, codes, strict=True)
    ]
    # Completing, unenrolling and completing again keeps the first certificate.
    Certificate.objects.bulk_create(certificates, ignore_conflicts=True)
    return list(Certificate.objects.filter(user=user, course__in=courses).select_related("course"))


def _streak_update(*, user: User, stats: LearnerStats, days: set[date]) -> None:
    """Add activity days and update the streaks: in step when the days extend the last one,
    recounted from all days when an offline event fills in the past."""
    _count, inserted = rows_insert_new(
        ActivityDay, [ActivityDay(user=user, day=day) for day in sorted(days)], returning=["day"]
    )
    new_days = sorted(day for (day,) in inserted)
    if not new_days:
        return
    if stats.last_active_day is None or new_days[0] > stats.last_active_day:
        current, last = stats.current_streak, stats.last_active_day
        for day in new_days:
            current = current + 1 if last is not None and (day - last).days == 1 else 1
            last = day
            stats.longest_streak = max(stats.longest_streak, current)
        stats.current_streak, stats.last_active_day = current, last
    else:
        all_days = ActivityDay.objects.filter(user=user).values_list("day", flat=True)
        current, longest, last = streaks_from_days(all_days)
        stats.current_streak, stats.longest_streak, stats.last_active_day = current, longest, last


@dataclass
class _Previous:
    """What became of a client id the last time it was sent (a stored `ProgressEvent`)."""

    result: str
    attempts: int


def _previous_load(*, user: User, events: Sequence[ProgressEventIn]) -> dict[uuid.UUID, _Previous]:
    client_ids = [event.client_id for event in events if event.client_id is not None]
    if not client_ids:
        return {}
    if connection.vendor == "postgresql":
        # The ids as one array parameter (`= ANY(...)`), not 500 placeholders to fill in.
        quote = connection.ops.quote_name
        opts = ProgressEvent._meta
        column = {name: quote(opts.get_field(name).column) for name in _PREVIOUS_COLUMNS}
        # Identifiers from the model's meta only; every value is a parameter.
        sql = (
            f"SELECT {column['client_id']}, {column['result']}, {column['attempts']} "  # noqa: S608
            f"FROM {quote(opts.db_table)} "
            f"WHERE {column['user']} = %s AND {column['client_id']} = ANY(%s::uuid[])"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [user.pk, _array_literal(client_ids)])
            rows = cursor.fetchall()
    else:
        rows = ProgressEvent.objects.filter(user=user, client_id__in=client_ids).values_list(
            *_PREVIOUS_COLUMNS[1:]
        )
    return {client_id: _Previous(result, attempts) for client_id, result, attempts in rows}


_PREVIOUS_COLUMNS = ("user", "client_id", "result", "attempts")


def _array_literal(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of values that need no quoting in one (UUIDs, numbers,
    ISO 8601 instants, codes): one text parameter the driver passes as it is, where a list
    would be adapted item by item in Python."""
    return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"


def _events_evaluate(
    *,
    batch: _Batch,
    events: Sequence[ProgressEventIn],
    lessons: dict[uuid.UUID, Lesson],
    previous: dict[uuid.UUID, _Previous],
) -> list[EventOutcome]:
    """Each event's result, applying them in the order they happened.

    `duplicate` means "applied before": only an id whose earlier attempt was applied (in an
    earlier batch or earlier in this one) is skipped. A refused or stale event is evaluated
    again, so an event refused while the learner had no tier is applied once they have one.
    """
    access = _AccessCache(batch.user, lessons.values())
    now = batch.now
    results = [
        EventOutcome(
            client_id=event.client_id, lesson_id=event.lesson_id, kind=event.kind, result=""
        )
        for event in events
    ]
    in_batch: dict[uuid.UUID, str] = {}
    order = sorted(range(len(events)), key=lambda index: (events[index].occurred_at or now, index))
    for index in order:
        event, result = events[index], results[index]
        client_id = event.client_id
        earlier = previous.get(client_id) if client_id is not None else None
        if earlier is not None and earlier.result == RESULT_APPLIED:
            result.result = RESULT_DUPLICATE
        elif client_id is not None and client_id in in_batch:
            # The same id twice in one batch: the second copy answers what the first did.
            first = in_batch[client_id]
            result.result = RESULT_DUPLICATE if first == RESULT_APPLIED else first
        elif event.occurred_at is not None and event.occurred_at > now + CLOCK_SKEW:
            result.result = ErrorCode.EVENT_IN_FUTURE
        else:
            result.result = _apply_one(batch, event, lessons.get(event.lesson_id), access)
            result.refusal = batch.refusals.pop(event.lesson_id, None)
        if client_id is not None:
            in_batch.setdefault(client_id, result.result)
    return results


@dataclass
class _Stored:
    """One client id's row in the event log, as `_events_store` writes it."""

    client_id: uuid.UUID
    kind: str
    lesson_id: uuid.UUID | None
    occurred_at: datetime
    attempts: int
    result: str


def _events_store(
    *,
    batch: _Batch,
    events: Sequence[ProgressEventIn],
    results: list[EventOutcome],
    lessons: dict[uuid.UUID, Lesson],
    previous: dict[uuid.UUID, _Previous],
) -> None:
    """Record each client id's latest outcome in one upsert: new ids are inserted, retried
    ones get their new result and one more attempt. Duplicates leave their row alone."""
    user, now = batch.user, batch.now
    stored: dict[uuid.UUID, _Stored] = {}
    for event, result in zip(events, results, strict=True):
        client_id = event.client_id
        if client_id is None or result.result == RESULT_DUPLICATE or client_id in stored:
            continue
        earlier = previous.get(client_id)
        stored[client_id] = _Stored(
            client_id=client_id,
            kind=event.kind if event.kind in ProgressEvent.Kind.values else KIND_COMPLETE,
            lesson_id=event.lesson_id if event.lesson_id in lessons else None,
            occurred_at=event.occurred_at or now,
            attempts=earlier.attempts + 1 if earlier is not None else 1,
            result=str(result.result),
        )
    if stored and connection.vendor == "postgresql":
        batch.writes.append(_events_upsert_arrays(user=user, now=now, rows=list(stored.values())))
    elif stored:
        ProgressEvent.objects.bulk_create(
            [
                ProgressEvent(
                    user=user,
                    client_id=row.client_id,
                    kind=row.kind,
                    lesson_id=row.lesson_id,
                    occurred_at=row.occurred_at,
                    received_at=now,
                    last_received_at=now,
                    attempts=row.attempts,
                    result=row.result,
                )
                for row in stored.values()
            ],
            update_conflicts=True,
            unique_fields=["user", "client_id"],
            # `received_at` keeps the first delivery.
            update_fields=list(_EVENT_UPDATED),
        )


# The columns a retried id's row gets anew (`received_at` keeps the first delivery).
_EVENT_UPDATED = ("kind", "lesson", "occurred_at", "last_received_at", "attempts", "result")
# The columns that differ from event to event, sent as arrays.
_EVENT_ARRAYS = ("client_id", "kind", "lesson", "occurred_at", "attempts", "result")


def _events_upsert_arrays(*, user: User, now: datetime, rows: list[_Stored]) -> Statement:
    """The upsert of `_events_store` on PostgreSQL as one statement: one array literal per
    column that differs from event to event (`INSERT ... SELECT FROM unnest(...)`), the
    learner and the time once, a new row's id from the database. Eight parameters for any
    batch, each a string the driver passes as it is (adapting 500 values per column in
    Python was the largest cost left in a batch)."""
    opts = ProgressEvent._meta
    quote = connection.ops.quote_name
    field = {name: opts.get_field(name) for name in ("id", "user", "received_at", *_EVENT_ARRAYS)}
    column = {name: quote(f.column) for name, f in field.items()}
    values = {
        "client_id": (row.client_id for row in rows),
        "kind": (row.kind for row in rows),
        "lesson": (row.lesson_id for row in rows),
        "occurred_at": (row.occurred_at.isoformat() for row in rows),
        "attempts": (row.attempts for row in rows),
        "result": (row.result for row in rows),
    }
    arrays = ", ".join(f"%s::{field[name].db_type(connection)}[]" for name in _EVENT_ARRAYS)
    updates = ", ".join(
        f"{quote(opts.get_field(name).column)} = EXCLUDED.{quote(opts.get_field(name).column)}"
        for name in _EVENT_UPDATED
    )
    inserted = ", ".join(column[name] for name in ("id", "user", "received_at"))
    inserted += ", " + quote(opts.get_field("last_received_at").column)
    inserted += ", " + ", ".join(column[name] for name in _EVENT_ARRAYS)
    selected = ", ".join(f"e.c{index}" for index in range(len(_EVENT_ARRAYS)))
    names = ", ".join(f"c{index}" for index in range(len(_EVENT_ARRAYS)))
    # Identifiers from the model's meta only; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({inserted}) "  # noqa: S608
        f"SELECT gen_random_uuid(), %s, %s, %s, {selected} "
        f"FROM unnest({arrays}) AS e({names}) "
        f"ON CONFLICT ({column['user']}, {column['client_id']}) DO UPDATE SET {updates}"
    )
    params = [user.pk, now, now, *(_array_literal(values[name]) for name in _EVENT_ARRAYS)]
    return sql, params


@transaction.atomic
def progress_apply(*, user: User, events: Sequence[ProgressEventIn]) -> ProgressOutcome:
    """Apply a batch of progress events for one learner in one transaction.

    Never raises for a bad event: each gets its own result (`applied`; `duplicate` for a
    client id applied before; `stale` for a heartbeat older than the last one; or the code of
    the error, which a later resend of the same id may turn into `applied`). Events are
    applied in the order they happened (`occurred_at`, then their place in the batch);
    results come back in the batch's order.
    """
    now = timezone.now()
    stats = learner_stats_lock(user=user)
    previous = _previous_load(user=user, events=events)
    read = _lessons_load(user=user, lesson_ids={event.lesson_id for event in events})
    lessons = read.lessons
    batch = _Batch(user=user, now=now, rows=read.rows, enrollments=read.enrollments)
    results = _events_evaluate(batch=batch, events=events, lessons=lessons, previous=previous)

    outcome = _write(batch, stats)
    credited: set[uuid.UUID] = set()
    for result in results:
        result.progress = batch.rows.get(result.lesson_id)
        if result.applied and result.lesson_id not in credited:
            result.xp_awarded = outcome.xp_by_lesson.get(result.lesson_id, 0)
            credited.add(result.lesson_id)
    outcome.events = results
    outcome.lessons = lessons
    _events_store(batch=batch, events=events, results=results, lessons=lessons, previous=previous)
    statements_run(batch.writes)
    return outcome


def _single(*, user: User, event: ProgressEventIn) -> ProgressOutcome:
    """Apply one event for a page or API call, raising its error instead of reporting it.
    The engine's read of the lesson is the lookup: a lesson the learner may not see (or none
    at that id) raises `LESSON_NOT_FOUND` as a 404."""
    outcome = progress_apply(user=user, events=[event])
    result = outcome.events[0].result
    if outcome.events[0].refusal is not None:
        outcome.events[0].refusal.require()  # the code, what to complete, when it opens
    if result == ErrorCode.LESSON_NOT_FOUND:
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
    if result not in (RESULT_APPLIED, RESULT_STALE):
        raise ApplicationError(ErrorCode(result))
    return outcome


def lesson_complete(*, user: User, lesson: Lesson | uuid.UUID) -> ProgressOutcome:
    """The learner marks a text or lab lesson done. Completing it again changes nothing.

    `lesson` may be just its id (the API has nothing else): the engine reads the lesson
    anyway, with the learner's access, so it is not looked up first; the lesson as read is
    `outcome.lessons[id]`."""
    lesson_id = lesson if isinstance(lesson, uuid.UUID) else lesson.pk
    return _single(user=user, event=ProgressEventIn(kind=KIND_COMPLETE, lesson_id=lesson_id))


def lesson_position_save(
    *, user: User, lesson: Lesson | uuid.UUID, position_seconds: float
) -> ProgressOutcome:
    """A video heartbeat from the player: the position, timed by the server's clock. Like
    `lesson_complete`, `lesson` may be just its id."""
    lesson_id = lesson if isinstance(lesson, uuid.UUID) else lesson.pk
    return _single(
        user=user,
        event=ProgressEventIn(
            kind=KIND_POSITION, lesson_id=lesson_id, position_seconds=position_seconds
        ),
    )


def lesson_quiz_passed(
    *, user: User, lesson: Lesson, at: datetime | None = None
) -> ProgressOutcome:
    """A passing quiz attempt completes its lesson (and awards the quiz XP once)."""
    return _single(
        user=user, event=ProgressEventIn(kind=KIND_QUIZ, lesson_id=lesson.pk, occurred_at=at)
    )


@transaction.atomic
def learner_stats_rebuild(*, user: User) -> LearnerStats:
    """Recompute a learner's totals from the XP ledger and the activity days."""
    stats = learner_stats_lock(user=user)
    stats.xp_total = sum(XPAward.objects.filter(user=user).values_list("amount", flat=True))
    days = ActivityDay.objects.filter(user=user).values_list("day", flat=True)
    stats.current_streak, stats.longest_streak, stats.last_active_day = streaks_from_days(days)
    stats.updated_at = timezone.now()
    stats.save()
    return stats
