"""Reusable reads: invites, a learner's progress in a course, the dashboard, certificates."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.roles import user_has_staff_role
from catalog.access import Access, structure_for
from catalog.models import Course, Lesson, Quiz, Section, SectionUnlock
from catalog.structure import (
    CourseRules,
    LearnerFacts,
    Lock,
    Structure,
    course_rules_get,
    course_rules_prefetch,
    course_structure_get,
    structure_evaluate,
)
from lms.errors import ErrorCode, NotFoundError
from progress.models import (
    Certificate,
    CohortMembership,
    Enrollment,
    Invite,
    LearnerStats,
    LessonProgress,
    QuizAttempt,
    QuizAttemptGrant,
)
from progress.structure import cohort_start_subquery, learner_facts_remember_read


def invite_code_normalize(code: str) -> str:
    """Codes are matched without regard to case or surrounding spaces (stored upper-case)."""
    return code.strip().upper()


def invite_is_for_user(*, invite: Invite, user: User) -> bool:
    """Whether `user` may redeem `invite`: anyone may, unless it is addressed to one email,
    which must then be a verified address of the user's (compared without regard to case,
    as allauth does: an unverified address could be anyone's claim)."""
    if not invite.addressee:
        return True
    return EmailAddress.objects.filter(
        user=user, verified=True, email__iexact=invite.addressee
    ).exists()


def invites_with_status(*, queryset: QuerySet[Invite], status: str) -> QuerySet[Invite]:
    """Invites in one `Invite.Status`, with the same precedence as `Invite.status`:
    revoked beats expired, which beats used up."""
    now = timezone.now()
    revoked = Q(revoked_at__isnull=False)
    expired = Q(expires_at__isnull=False, expires_at__lte=now)
    used_up = Q(uses_count__gte=F("max_uses"))
    if status == Invite.Status.REVOKED:
        return queryset.filter(revoked)
    if status == Invite.Status.EXPIRED:
        return queryset.filter(expired).exclude(revoked)
    if status == Invite.Status.USED_UP:
        return queryset.filter(used_up).exclude(revoked).exclude(expired)
    if status == Invite.Status.ACTIVE:
        return queryset.exclude(revoked).exclude(expired).exclude(used_up)
    raise ValueError(f"Unknown invite status: {status!r}")


def enrollment_list(*, user: User) -> QuerySet[Enrollment]:
    """The user's enrollments, newest first, with their courses."""
    return Enrollment.objects.filter(user=user).select_related("course")


# --- Learning ------------------------------------------------------------------------------
class NextStep(StrEnum):
    """What a course's main button offers: the same rule on the course page, on "My learning"
    and in the API, so every screen sends the learner to the same lesson."""

    RESUME = "resume"  # the lesson last opened, not completed yet
    NEXT = "next"  # the first lesson still to do in course order (required lessons first)
    START = "start"  # nothing completed or opened yet: the first lesson
    REVIEW = "review"  # every published lesson is completed: nothing left to continue
    # Every lesson still to do is closed by the course's rules (`waiting` says why and when).
    WAIT = "wait"


@dataclass(frozen=True)
class Resume:
    """Where "Continue" leads: a lesson still to do and the video position in it."""

    lesson: Lesson
    position_seconds: float


class EnrollmentFigures:
    """What a learner's progress in a course says about it, shared by `CourseProgress` and
    the outline overlay (`progress.overlay.OutlineOverlay`): both have `enrollment`,
    `completed_count` and `total_count`."""

    enrollment: Enrollment | None
    completed_count: int
    total_count: int

    @property
    def percent(self) -> int:
        return progress_percent(self.completed_count, self.total_count)

    @property
    def is_enrolled(self) -> bool:
        return self.enrollment is not None and self.enrollment.is_active

    @property
    def is_completed(self) -> bool:
        return self.enrollment is not None and self.enrollment.completed_at is not None


@dataclass(frozen=True)
class CourseProgress(EnrollmentFigures):
    enrollment: Enrollment | None
    rows: dict[uuid.UUID, LessonProgress]
    completed_count: int
    total_count: int
    resume: Resume | None  # set for `NextStep.RESUME` and `NextStep.NEXT` only
    certificate: Certificate | None
    next_step: NextStep | None = None  # None: no published lessons, or not signed in
    # `NextStep.WAIT`: the structure lock of the first lesson still to do.
    waiting: Access | None = None

    def status_of(self, lesson: Lesson) -> str:
        row = self.rows.get(lesson.pk)
        return row.status if row is not None else LessonProgress.Status.NOT_STARTED


def progress_percent(completed: int, total: int) -> int:
    """Whole percent, clamped to 0-100; a course without lessons is at 0."""
    if total <= 0:
        return 0
    return max(0, min(100, (completed * 100) // total))


# (lesson id, section id, is_required) of the lessons that count, in course order.
_CountedLesson = tuple[uuid.UUID, uuid.UUID, bool]


def _counted_lessons(rules: CourseRules) -> list[_CountedLesson]:
    """The lessons progress counts, from the course's rules: published and not hidden (nor in
    a hidden section), as completion counts them, for editors too."""
    return [
        (pk, section.id, required)
        for section in rules.sections
        if not section.is_hidden
        for pk, hidden, required, _title in section.lessons
        if not hidden
    ]


def _lesson_lock(structure: Structure, lesson_id: uuid.UUID, section_id: uuid.UUID) -> Lock | None:
    """`Structure.lesson_lock` from ids (the section's lock, else the lesson's own)."""
    if structure.bypass:
        return None
    return structure.section_locks.get(section_id) or structure.lesson_locks.get(lesson_id)


@dataclass(frozen=True)
class _Plan:
    """Counts and the next step of one course for one learner (`_course_plan`)."""

    completed_count: int
    total_count: int
    step: NextStep | None
    target: uuid.UUID | None
    waiting: Access | None


def _course_plan(
    *,
    lessons: Sequence[_CountedLesson],
    done: set[uuid.UUID] | frozenset[uuid.UUID],
    structure: Structure,
    last_lesson_id: uuid.UUID | None,
) -> _Plan:
    """The step a course's button offers and the lesson it leads to (pure).

    Back to the lesson last opened while it is unfinished; otherwise the first unfinished
    required lesson in course order (a learner who skipped ahead finds the lessons they left
    behind), then the first unfinished optional one. Only lessons that count (published,
    not hidden) and that the course's rules leave open are offered; when every lesson still
    to do is locked, the step is `WAIT` with the lock of the first of them.
    """
    counted = {pk for pk, _section, _required in lessons}
    completed = sum(1 for pk in counted if pk in done)
    first_lock: Lock | None = None
    first_open_required = first_open = None
    for pk, section_id, required in lessons:
        if pk in done:
            continue
        lock = _lesson_lock(structure, pk, section_id)
        if lock is not None:
            first_lock = first_lock or lock
            continue
        first_open = first_open or pk
        if required and first_open_required is None:
            first_open_required = pk
    anchored = last_lesson_id is not None and last_lesson_id in counted
    step: NextStep | None
    if anchored and last_lesson_id not in done:
        step, target = NextStep.RESUME, last_lesson_id
    else:
        target = first_open_required or first_open
        if target is None:
            step = NextStep.WAIT if first_lock else (NextStep.REVIEW if completed else None)
        elif completed == 0 and not anchored:
            step = NextStep.START
        else:
            step = NextStep.NEXT
    waiting = Access.from_lock(first_lock) if step == NextStep.WAIT and first_lock else None
    return _Plan(completed, len(counted), step, target, waiting)


@dataclass(frozen=True)
class LearnerRows:
    """A learner's enrollment (any, with its last lesson) and progress rows in one course."""

    enrollment: Enrollment | None
    rows: dict[uuid.UUID, LessonProgress]


def learner_rows_load(*, user: User, course: Course) -> LearnerRows:
    """The learner's enrollment and progress rows in the course: two queries. Read before
    the outline, they are also what the course's rules need to know of the learner
    (`progress.structure.learner_facts_remember`): the outline then reads neither again."""
    enrollment = (
        Enrollment.objects.filter(user=user, course=course)
        .select_related("last_lesson")
        .annotate(cohort_starts_on=cohort_start_subquery(user=user, course_id=course.pk))
        .first()
    )
    rows = {
        row.lesson_id: row
        for row in LessonProgress.objects.filter(user=user, course=course).defer("watched_ranges")
    }
    learner_facts_remember_read(
        user=user,
        course=course,
        enrollment=enrollment,
        completed_ids=frozenset(pk for pk, row in rows.items() if row.is_completed),
        started_ids=frozenset(rows),
    )
    return LearnerRows(enrollment, rows)


def course_progress_get(
    *,
    user: User | AnonymousUser,
    course: Course,
    lessons: Sequence[Lesson] | None = None,
    structure: Structure | None = None,
    loaded: LearnerRows | None = None,
) -> CourseProgress:
    """The learner's progress in one course: two queries whatever the course size (with the
    course's rules cached), a third when "Continue" leads elsewhere than the lesson last
    opened and `lessons` does not hold it, and a fourth once the course is completed.

    `lessons`: the course's lessons as the pages' outline loaded them, which holds the lesson
    "Continue" leads to. `structure`: the course's rules decided for this user
    (`catalog.access.structure_for`, the outline's), else decided here. `loaded`: what
    `learner_rows_load` read (no query here then). Progress counts
    published lessons that are not hidden (as completion does); "Continue" never leads to a
    lesson the rules keep closed (`_course_plan`).
    """
    if user.is_authenticated:
        # First: deciding the rules below then reads nothing more of the learner.
        loaded = loaded or learner_rows_load(user=user, course=course)
    structure = structure or structure_for(user=user, course=course)
    counted = _counted_lessons(structure.rules)
    if loaded is None:  # a visitor: no progress
        return CourseProgress(None, {}, 0, len(counted), None, None)
    enrollment, rows = loaded.enrollment, loaded.rows
    known = {lesson.pk: lesson for lesson in lessons or ()}
    last = enrollment.last_lesson if enrollment is not None else None
    plan = _course_plan(
        lessons=counted,
        done={pk for pk, row in rows.items() if row.is_completed},
        structure=structure,
        last_lesson_id=last.pk if last is not None else None,
    )
    resume = None
    if plan.step in (NextStep.RESUME, NextStep.NEXT):
        lesson = last if plan.step == NextStep.RESUME else known.get(plan.target)
        if lesson is None:
            lesson = Lesson.objects.get(pk=plan.target)
        lesson.course = course
        row = rows.get(lesson.pk)
        resume = Resume(lesson=lesson, position_seconds=row.position_seconds if row else 0.0)
    certificate = None
    if enrollment is not None and enrollment.completed_at is not None:
        certificate = Certificate.objects.filter(user=user, course=course).first()
    return CourseProgress(
        enrollment,
        rows,
        plan.completed_count,
        plan.total_count,
        resume,
        certificate,
        next_step=plan.step,
        waiting=plan.waiting,
    )


@dataclass(frozen=True)
class DashboardCourse:
    enrollment: Enrollment
    course: Course
    completed_count: int
    total_count: int
    next_step: NextStep | None  # None: the course has no published lessons yet
    next_lesson: Lesson | None  # where the button leads (None to review, or nothing yet)
    resume_position: float  # the saved video position in `next_lesson`
    # `NextStep.WAIT`: why the lessons still to do are closed, and when the next one opens.
    waiting: Access | None = None

    @property
    def percent(self) -> int:
        return progress_percent(self.completed_count, self.total_count)

    @property
    def resumable(self) -> bool:
        """True: "Continue" (the learner is under way); False: "Start", "Review" or nothing."""
        return self.next_step in (NextStep.RESUME, NextStep.NEXT)


@dataclass(frozen=True)
class StatsView:
    xp: int
    level: int
    level_start_xp: int
    next_level_xp: int | None
    current_streak: int
    longest_streak: int
    next_milestone: int | None
    active_today: bool

    @property
    def level_percent(self) -> int:
        if self.next_level_xp is None:
            return 100
        return progress_percent(
            self.xp - self.level_start_xp, self.next_level_xp - self.level_start_xp
        )


@dataclass(frozen=True)
class Dashboard:
    in_progress: list[DashboardCourse]
    completed: list[DashboardCourse]
    certificates: list[Certificate]
    stats: StatsView


def level_for_xp(xp: int) -> tuple[int, int, int | None]:
    """(level, XP where it starts, XP where the next starts or None at the top) from
    `LMS_XP_LEVELS`."""
    thresholds = sorted(settings.LMS_XP_LEVELS) or [0]
    level = max(1, sum(1 for threshold in thresholds if xp >= threshold))
    start = thresholds[level - 1] if level - 1 < len(thresholds) else thresholds[-1]
    following = thresholds[level] if level < len(thresholds) else None
    return level, start, following


def stats_view(*, user: User, stats: LearnerStats | None, today: date | None = None) -> StatsView:
    """XP, level and streaks as the learner sees them today, in their own time zone.

    A streak survives until the end of the day after the last active day: it is "current"
    when the learner was active today or yesterday.
    """
    today = today or timezone.localtime(timezone.now(), user.zoneinfo).date()
    xp = stats.xp_total if stats else 0
    last = stats.last_active_day if stats else None
    alive = last is not None and (today - last).days <= 1
    current = stats.current_streak if stats and alive else 0
    level, start, following = level_for_xp(xp)
    milestone = next((m for m in sorted(settings.LMS_STREAK_MILESTONES) if m > current), None)
    return StatsView(
        xp=xp,
        level=level,
        level_start_xp=start,
        next_level_xp=following,
        current_streak=current,
        longest_streak=stats.longest_streak if stats else 0,
        next_milestone=milestone,
        active_today=last == today,
    )


def _enrolled_course_shown(user: User) -> Q:
    """The enrollments whose course page exists for `user`, in the database: a course moved
    back to draft leaves "My learning" (its link would be a 404) and comes back, progress
    and all, once republished; its editors keep it, as `catalog.access.course_is_visible`
    decides for one course."""
    if user_has_staff_role(user):
        return Q()
    teaches = Exists(
        Course.instructors.through.objects.filter(course_id=OuterRef("course_id"), user=user)
    )
    return ~Q(course__status=Course.Status.DRAFT) | Q(teaches)


def dashboard_get(*, user: User) -> Dashboard:
    """Everything on "My learning": a fixed handful of queries for any number of courses,
    whatever their size. The courses' rules come cached (`course_rules_prefetch`); the
    learner's progress rows in all their courses are read once and decide the counts, the
    next lessons and (`_structures_many`) the rules that depend on what they have done."""
    enrollments = list(
        Enrollment.objects.filter(user=user, unenrolled_at__isnull=True)
        .filter(_enrolled_course_shown(user))
        .select_related("course", "course__required_tier")
        .annotate(teaches=Exists(_taught_by(user)), **_STATS_COLUMNS)
        .order_by(F("last_activity_at").desc(nulls_last=True), "-created_at")
    )
    courses = [enrollment.course for enrollment in enrollments]
    course_rules_prefetch(courses=courses)
    progress = _progress_rows_many(user=user, course_ids=[course.pk for course in courses])
    structures = _structures_many(user=user, enrollments=enrollments, progress=progress)
    plans = {
        enrollment.pk: _course_plan(
            lessons=_counted_lessons(structures[enrollment.course_id].rules),
            done=progress.get(enrollment.course_id, _NO_ROWS).completed,
            structure=structures[enrollment.course_id],
            last_lesson_id=enrollment.last_lesson_id,
        )
        for enrollment in enrollments
    }
    targets = {
        lesson.pk: lesson
        for lesson in Lesson.objects.filter(
            pk__in=[plan.target for plan in plans.values() if plan.target is not None]
        ).defer("body")  # a link and a title: never the notes
    }
    in_progress, completed = [], []
    for enrollment in enrollments:
        plan = plans[enrollment.pk]
        lesson = targets.get(plan.target)
        if lesson is not None:
            lesson.course = enrollment.course
        rows = progress.get(enrollment.course_id, _NO_ROWS)
        item = DashboardCourse(
            enrollment=enrollment,
            course=enrollment.course,
            completed_count=plan.completed_count,
            total_count=plan.total_count,
            next_step=plan.step,
            next_lesson=lesson,
            resume_position=rows.positions.get(plan.target, 0.0) if lesson is not None else 0.0,
            waiting=plan.waiting,
        )
        (completed if enrollment.completed_at else in_progress).append(item)
    certificates = list(certificate_list(user=user))
    return Dashboard(
        in_progress=in_progress,
        completed=completed,
        certificates=certificates,
        stats=stats_view(user=user, stats=_stats_of(user, enrollments)),
    )


# The learner's stats row, read with their enrollments (each row carries it: the same row).
_STATS_FIELDS = ("user_id", "xp_total", "current_streak", "longest_streak", "last_active_day")
_STATS_COLUMNS = {f"stats_{name}": F(f"user__learner_stats__{name}") for name in _STATS_FIELDS}


def _stats_of(user: User, enrollments: list[Enrollment]) -> LearnerStats | None:
    """The learner's `LearnerStats` (None before their first progress), from the columns
    `_STATS_COLUMNS` added to their enrollments; read on its own only without enrollments."""
    if not enrollments:
        return LearnerStats.objects.filter(user=user).first()
    first = enrollments[0]
    if first.stats_user_id is None:
        return None
    known = {name: getattr(first, f"stats_{name}") for name in _STATS_FIELDS}
    # As `.only(*_STATS_FIELDS)` would load the row (the rest deferred).
    names = [f.attname for f in LearnerStats._meta.concrete_fields if f.attname in known]
    return LearnerStats.from_db("default", names, [known[name] for name in names])


def _taught_by(user: User) -> QuerySet:
    return Course.instructors.through.objects.filter(course_id=OuterRef("course_id"), user=user)


@dataclass(frozen=True)
class _CourseRows:
    """A learner's progress rows in one course, as the dashboard needs them."""

    started: frozenset[uuid.UUID]
    completed: frozenset[uuid.UUID]
    positions: dict[uuid.UUID, float]


_NO_ROWS = _CourseRows(frozenset(), frozenset(), {})


def _progress_rows_many(*, user: User, course_ids: list[uuid.UUID]) -> dict[uuid.UUID, _CourseRows]:
    """The learner's progress rows in these courses: one query (none without courses)."""
    if not course_ids:
        return {}
    started: dict[uuid.UUID, set[uuid.UUID]] = {}
    completed: dict[uuid.UUID, set[uuid.UUID]] = {}
    positions: dict[uuid.UUID, dict[uuid.UUID, float]] = {}
    for course_id, lesson_id, status, position in LessonProgress.objects.filter(
        user=user, course_id__in=course_ids
    ).values_list("course_id", "lesson_id", "status", "position_seconds"):
        started.setdefault(course_id, set()).add(lesson_id)
        positions.setdefault(course_id, {})[lesson_id] = position
        if status == LessonProgress.Status.COMPLETED:
            completed.setdefault(course_id, set()).add(lesson_id)
    return {
        course_id: _CourseRows(
            frozenset(lesson_ids),
            frozenset(completed.get(course_id, ())),
            positions.get(course_id, {}),
        )
        for course_id, lesson_ids in started.items()
    }


def _structures_many(
    *,
    user: User,
    enrollments: list[Enrollment],
    progress: dict[uuid.UUID, _CourseRows],
) -> dict[uuid.UUID, Structure]:
    """Each enrolled course's rules decided for this learner, as `catalog.access.structure_for`
    decides them one by one, in at most three queries for all of them: their cohorts' start
    days and the prerequisite courses they completed (each only when some course's rules
    need it), and their early unlocks (only when something is locked). The learner's
    progress rows and enrollments are already loaded."""
    editor_everywhere = user_has_staff_role(user)
    structures: dict[uuid.UUID, Structure] = {}
    ruled: list[Enrollment] = []
    for enrollment in enrollments:
        course = enrollment.course
        editor = editor_everywhere or enrollment.teaches
        rules = course_rules_get(course=course)  # prefetched: no query
        if editor or not rules.needs_facts:
            structures[course.pk] = course_structure_get(user=user, course=course, editor=editor)
        else:
            ruled.append(enrollment)
    if not ruled:
        return structures
    cohort_starts = _cohort_starts_many(user=user, enrollments=ruled)
    completed_courses = _completed_courses_many(user=user, enrollments=ruled)
    zone = user.zoneinfo
    facts: dict[uuid.UUID, LearnerFacts] = {}
    for enrollment in ruled:
        rows = progress.get(enrollment.course_id, _NO_ROWS)
        facts[enrollment.course_id] = LearnerFacts(
            completed_lesson_ids=rows.completed,
            started_lesson_ids=rows.started,
            enrolled_at=enrollment.created_at,
            cohort_starts_on=cohort_starts.get(enrollment.course_id),
            completed_course_ids=completed_courses,
        )
        structures[enrollment.course_id] = structure_evaluate(
            rules=course_rules_get(course=enrollment.course),
            facts=facts[enrollment.course_id],
            zone=zone,
        )
    locked = [pk for pk in facts if structures[pk].section_locks or structures[pk].lesson_locks]
    if locked:
        unlocked: dict[uuid.UUID, set[uuid.UUID]] = {}
        for course_id, section_id in SectionUnlock.objects.filter(
            user=user, section__course_id__in=locked
        ).values_list("section__course_id", "section_id"):
            unlocked.setdefault(course_id, set()).add(section_id)
        for course_id, section_ids in unlocked.items():
            structures[course_id] = structure_evaluate(
                rules=structures[course_id].rules,
                facts=facts[course_id],
                unlocked_section_ids=frozenset(section_ids),
                zone=zone,
            )
    return structures


def _cohort_starts_many(*, user: User, enrollments: list[Enrollment]) -> dict[uuid.UUID, date]:
    """The start day of the learner's cohort in each course whose release counts from one."""
    counting = [
        enrollment.course_id
        for enrollment in enrollments
        if any(
            section.release_from == Section.ReleaseFrom.COHORT
            and section.release_after_days is not None
            for section in course_rules_get(course=enrollment.course).sections
        )
    ]
    if not counting:
        return {}
    return dict(
        CohortMembership.objects.filter(user=user, course_id__in=counting).values_list(
            "course_id", "cohort__starts_on"
        )
    )


def _completed_courses_many(*, user: User, enrollments: list[Enrollment]) -> frozenset[uuid.UUID]:
    """Which of these courses' prerequisite courses the learner completed."""
    asked = {
        pk
        for enrollment in enrollments
        for pk, _title in course_rules_get(course=enrollment.course).prerequisite_courses
    }
    if not asked:
        return frozenset()
    return frozenset(
        Enrollment.objects.filter(
            user=user, course_id__in=asked, completed_at__isnull=False
        ).values_list("course_id", flat=True)
    )


def certificate_list(*, user: User) -> QuerySet[Certificate]:
    return Certificate.objects.filter(user=user).select_related("course")


def certificate_get(*, code: str) -> Certificate:
    """A certificate by its code, for anyone who has the code."""
    certificate = (
        Certificate.objects.select_related("course", "user")
        .filter(code=code.strip().upper())
        .first()
    )
    if certificate is None:
        raise NotFoundError(ErrorCode.CERTIFICATE_NOT_FOUND)
    return certificate


# --- Quizzes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizRecord:
    """A learner's standing in one quiz, under its rules (`catalog.models.Quiz`).

    Until the learner passes, every attempt counts against `max_attempts` (the quiz's, plus
    the attempts staff granted) and a failed attempt starts the quiz's wait. Once passed, the
    learner may retake the quiz for practice: no limit, no wait, and the best score and the
    completed lesson stay as they are. The answers (which were right, the correct answers,
    the explanations) are revealed per the quiz's `reveal_answers`; "after the last attempt"
    means once passed or out of attempts.

    `blocked` is None when the learner may submit now, else QUIZ_ATTEMPTS_EXHAUSTED or
    QUIZ_RETRY_NOT_YET (then `next_attempt_at` says when).
    """

    best_score: int | None
    passed: bool
    attempt_count: int
    max_attempts: int | None = None  # None: unlimited
    attempts_left: int | None = None  # None: unlimited; never below 0
    next_attempt_at: datetime | None = None
    answers_revealed: bool = False
    blocked: ErrorCode | None = None
    last_attempt_at: datetime | None = None
    granted_attempts: int = 0
    preview: bool = False  # unpublished content tried out by an editor: no rules apply

    @property
    def can_attempt(self) -> bool:
        return self.blocked is None

    def after_attempt(self, *, quiz: Quiz, score: int, passed: bool, at: datetime) -> "QuizRecord":
        """The record once one more attempt is stored (no query)."""
        best = score if self.best_score is None else max(self.best_score, score)
        record = quiz_record_build(
            quiz=quiz,
            best_score=best,
            passed=self.passed or passed,
            attempt_count=self.attempt_count + 1,
            last_attempt_at=at,
            granted_attempts=self.granted_attempts,
            now=at,
        )
        return _as_preview(record) if self.preview else record


def _as_preview(record: QuizRecord) -> QuizRecord:
    """An editor trying out unpublished content: no limit, no wait, the answers shown."""
    return replace(record, blocked=None, next_attempt_at=None, answers_revealed=True, preview=True)


def quiz_record_build(
    *,
    quiz: Quiz,
    best_score: int | None,
    passed: bool,
    attempt_count: int,
    last_attempt_at: datetime | None,
    granted_attempts: int,
    now: datetime,
) -> QuizRecord:
    """The rules applied to a learner's attempts so far (pure). Before a pass all attempts
    are failed ones, so the attempts that count are all of them and the last one starts
    the wait."""
    max_attempts = None if quiz.max_attempts is None else quiz.max_attempts + granted_attempts
    attempts_left = None if max_attempts is None else max(max_attempts - attempt_count, 0)
    next_attempt_at = None
    blocked = None
    if not passed:
        if attempts_left == 0:
            blocked = ErrorCode.QUIZ_ATTEMPTS_EXHAUSTED
        elif quiz.retry_wait_minutes and last_attempt_at is not None:
            opens = last_attempt_at + timedelta(minutes=quiz.retry_wait_minutes)
            if opens > now:
                next_attempt_at, blocked = opens, ErrorCode.QUIZ_RETRY_NOT_YET
    reveal = quiz.reveal_answers
    revealed = reveal != Quiz.Reveal.NEVER and (
        passed or (reveal == Quiz.Reveal.AFTER_LAST_ATTEMPT and attempts_left == 0)
    )
    return QuizRecord(
        best_score=best_score,
        passed=passed,
        attempt_count=attempt_count,
        max_attempts=max_attempts,
        attempts_left=attempts_left,
        next_attempt_at=next_attempt_at,
        answers_revealed=revealed,
        blocked=blocked,
        last_attempt_at=last_attempt_at,
        granted_attempts=granted_attempts,
    )


def quiz_record_get(
    *, user: User | AnonymousUser, quiz: Quiz, now: datetime | None = None
) -> QuizRecord:
    """The learner's record in `quiz` at `now`: two queries (their attempts, and the attempts
    staff granted them). An anonymous visitor has no attempts."""
    row: dict[str, Any] = {"best": None, "passes": 0, "count": 0, "last": None, "grants": 0}
    if user.is_authenticated:
        row |= QuizAttempt.objects.filter(user=user, lesson_id=quiz.lesson_id).aggregate(
            best=Max("score"),
            passes=Count("pk", filter=Q(passed=True)),
            count=Count("pk"),
            last=Max("created_at"),
        )
        grants = QuizAttemptGrant.objects.filter(user=user, lesson_id=quiz.lesson_id)
        row["grants"] = grants.count()
    record = quiz_record_build(
        quiz=quiz,
        best_score=row["best"],
        passed=bool(row["passes"]),
        attempt_count=row["count"],
        last_attempt_at=row["last"],
        granted_attempts=row["grants"],
        now=now or timezone.now(),
    )
    return _as_preview(record) if quiz.lesson.is_preview_only else record


def quiz_attempt_list(*, user: User, lesson: Lesson) -> QuerySet[QuizAttempt]:
    """The learner's own attempts at a lesson's quiz, newest first."""
    return QuizAttempt.objects.filter(user=user, lesson=lesson).order_by("-created_at", "-pk")


def course_learner_count(*, course: Course) -> int:
    """How many people take the course now (active enrollments): one query."""
    return Enrollment.objects.filter(course=course, unenrolled_at__isnull=True).count()
