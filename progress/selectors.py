"""Reusable reads: invites, a learner's progress in a course, the dashboard, certificates."""

import uuid
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from catalog.models import Course, Lesson
from lms.errors import ErrorCode, NotFoundError
from progress.models import (
    Certificate,
    Enrollment,
    Invite,
    LearnerStats,
    LessonProgress,
    QuizAttempt,
)


def invite_code_normalize(code: str) -> str:
    """Codes are matched without regard to case or surrounding spaces (stored upper-case)."""
    return code.strip().upper()


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
@dataclass(frozen=True)
class Resume:
    """Where to continue a course: the lesson last worked on and the video position in it."""

    lesson: Lesson
    position_seconds: float


@dataclass(frozen=True)
class CourseProgress:
    enrollment: Enrollment | None
    rows: dict[uuid.UUID, LessonProgress]
    completed_count: int
    total_count: int
    resume: Resume | None
    certificate: Certificate | None

    @property
    def percent(self) -> int:
        return progress_percent(self.completed_count, self.total_count)

    @property
    def is_enrolled(self) -> bool:
        return self.enrollment is not None and self.enrollment.is_active

    @property
    def is_completed(self) -> bool:
        return self.enrollment is not None and self.enrollment.completed_at is not None

    def status_of(self, lesson: Lesson) -> str:
        row = self.rows.get(lesson.pk)
        return row.status if row is not None else LessonProgress.Status.NOT_STARTED


def progress_percent(completed: int, total: int) -> int:
    """Whole percent, clamped to 0-100; a course without lessons is at 0."""
    if total <= 0:
        return 0
    return max(0, min(100, (completed * 100) // total))


def course_progress_get(*, user: User | AnonymousUser, course: Course) -> CourseProgress:
    """The learner's progress in one course: three queries, whatever the course size.

    Progress counts published lessons only (drafts do not count, however far along staff are).
    """
    if not user.is_authenticated:
        return CourseProgress(None, {}, 0, _published_lesson_count(course), None, None)
    enrollment = (
        Enrollment.objects.filter(user=user, course=course).select_related("last_lesson").first()
    )
    rows = {
        row.lesson_id: row
        for row in LessonProgress.objects.filter(user=user, course=course).defer("watched_ranges")
    }
    published = dict(
        Lesson.objects.filter(course=course, is_published=True).values_list("pk", "slug")
    )
    completed = sum(1 for pk, row in rows.items() if pk in published and row.is_completed)
    resume = None
    if enrollment is not None and enrollment.last_lesson is not None:
        lesson = enrollment.last_lesson
        lesson.course = course
        row = rows.get(lesson.pk)
        resume = Resume(lesson=lesson, position_seconds=row.position_seconds if row else 0.0)
    certificate = None
    if enrollment is not None and enrollment.completed_at is not None:
        certificate = Certificate.objects.filter(user=user, course=course).first()
    return CourseProgress(enrollment, rows, completed, len(published), resume, certificate)


def _published_lesson_count(course: Course) -> int:
    return Lesson.objects.filter(course=course, is_published=True).count()


@dataclass(frozen=True)
class DashboardCourse:
    enrollment: Enrollment
    course: Course
    completed_count: int
    total_count: int
    resume_lesson: Lesson | None
    resume_position: float
    first_lesson: Lesson | None = None  # loaded only when there is nothing to resume

    @property
    def percent(self) -> int:
        return progress_percent(self.completed_count, self.total_count)

    @property
    def resumable(self) -> bool:
        # A lesson unpublished since it was last opened leads nowhere: start over instead.
        return self.resume_lesson is not None and self.resume_lesson.is_published

    @property
    def next_lesson(self) -> Lesson | None:
        """Where the button leads: the lesson to continue, or else the first one."""
        return self.resume_lesson if self.resumable else self.first_lesson


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


def dashboard_get(*, user: User) -> Dashboard:
    """Everything on "My learning": a fixed handful of queries for any number of courses."""
    enrollments = list(
        Enrollment.objects.filter(user=user, unenrolled_at__isnull=True)
        .select_related("course", "course__required_tier", "last_lesson")
        .order_by(F("last_activity_at").desc(nulls_last=True), "-created_at")
    )
    course_ids = [enrollment.course_id for enrollment in enrollments]
    totals = dict(
        Lesson.objects.filter(course_id__in=course_ids, is_published=True)
        .order_by()
        .values("course_id")
        .annotate(count=Count("pk"))
        .values_list("course_id", "count")
    )
    done = dict(
        LessonProgress.objects.filter(
            user=user,
            course_id__in=course_ids,
            status=LessonProgress.Status.COMPLETED,
            lesson__is_published=True,
        )
        .values("course_id")
        .annotate(count=Count("pk"))
        .values_list("course_id", "count")
    )
    last_lesson_ids = [e.last_lesson_id for e in enrollments if e.last_lesson_id]
    positions = dict(
        LessonProgress.objects.filter(user=user, lesson_id__in=last_lesson_ids).values_list(
            "lesson_id", "position_seconds"
        )
    )
    resumable = {
        e.course_id for e in enrollments if e.last_lesson is not None and e.last_lesson.is_published
    }
    firsts = _first_lessons(
        course_ids=[e.course_id for e in enrollments if e.course_id not in resumable]
    )
    in_progress, completed = [], []
    for enrollment in enrollments:
        if enrollment.last_lesson is not None:
            enrollment.last_lesson.course = enrollment.course
        item = DashboardCourse(
            enrollment=enrollment,
            course=enrollment.course,
            completed_count=done.get(enrollment.course_id, 0),
            total_count=totals.get(enrollment.course_id, 0),
            resume_lesson=enrollment.last_lesson,
            resume_position=positions.get(enrollment.last_lesson_id, 0.0),
            first_lesson=firsts.get(enrollment.course_id),
        )
        (completed if enrollment.completed_at else in_progress).append(item)
    certificates = list(certificate_list(user=user))
    stats = LearnerStats.objects.filter(user=user).first()
    return Dashboard(
        in_progress=in_progress,
        completed=completed,
        certificates=certificates,
        stats=stats_view(user=user, stats=stats),
    )


def _first_lessons(*, course_ids: list[uuid.UUID]) -> dict[uuid.UUID, Lesson]:
    """The first published lesson of each course: one query whatever the courses' size."""
    if not course_ids:
        return {}
    first = Subquery(
        Lesson.objects.filter(course=OuterRef("pk"), is_published=True)
        .order_by("section__order", "order")
        .values("pk")[:1]
    )
    first_ids = Course.objects.filter(pk__in=course_ids).annotate(first=first).values("first")
    return {
        lesson.course_id: lesson
        for lesson in Lesson.objects.filter(pk__in=first_ids).select_related("course")
    }


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
    """A learner's standing in one quiz: their best score, whether they ever passed, how
    many attempts they made, and the latest one."""

    best_score: int | None
    passed: bool
    attempt_count: int


def quiz_record_get(*, user: User, lesson: Lesson) -> QuizRecord:
    """One aggregate query; an anonymous visitor has no record."""
    if not user.is_authenticated:
        return QuizRecord(best_score=None, passed=False, attempt_count=0)
    row = QuizAttempt.objects.filter(user=user, lesson=lesson).aggregate(
        best=Max("score"), passes=Count("pk", filter=Q(passed=True)), count=Count("pk")
    )
    return QuizRecord(
        best_score=row["best"], passed=bool(row["passes"]), attempt_count=row["count"]
    )


def quiz_attempt_list(*, user: User, lesson: Lesson) -> QuerySet[QuizAttempt]:
    """The learner's own attempts at a lesson's quiz, newest first."""
    return QuizAttempt.objects.filter(user=user, lesson=lesson).order_by("-created_at", "-pk")
