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
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from accounts.roles import user_has_staff_role
from catalog.models import Course, Lesson, Quiz
from lms.errors import ErrorCode, NotFoundError
from progress.models import (
    Certificate,
    Enrollment,
    Invite,
    LearnerStats,
    LessonProgress,
    QuizAttempt,
    QuizAttemptGrant,
)


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


@dataclass(frozen=True)
class Resume:
    """Where "Continue" leads: a lesson still to do and the video position in it."""

    lesson: Lesson
    position_seconds: float


@dataclass(frozen=True)
class CourseProgress:
    enrollment: Enrollment | None
    rows: dict[uuid.UUID, LessonProgress]
    completed_count: int
    total_count: int
    resume: Resume | None  # set for `NextStep.RESUME` and `NextStep.NEXT` only
    certificate: Certificate | None
    next_step: NextStep | None = None  # None: no published lessons, or not signed in

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


def _next_step_choose(
    *,
    last_lesson: Lesson | None,
    last_done: bool,
    first_open_required: uuid.UUID | None,
    first_open: uuid.UUID | None,
    completed_count: int,
) -> tuple[NextStep | None, uuid.UUID | None]:
    """The step a course's button offers and the lesson it leads to, from what the caller
    found among the published lessons ("open": published and not completed, in course order).

    Back to the lesson last opened while it is unfinished; otherwise the first unfinished
    required lesson in course order (a learner who skipped ahead finds the lessons they left
    behind), then the first unfinished optional one. A last lesson unpublished since is no
    anchor, and unpublished lessons are never offered.
    """
    anchored = last_lesson is not None and last_lesson.is_published
    if anchored and not last_done:
        return NextStep.RESUME, last_lesson.pk
    target = first_open_required or first_open
    if target is None:
        return (NextStep.REVIEW if completed_count else None), None
    if completed_count == 0 and not anchored:
        return NextStep.START, target
    return NextStep.NEXT, target


def course_progress_get(
    *, user: User | AnonymousUser, course: Course, lessons: Sequence[Lesson] | None = None
) -> CourseProgress:
    """The learner's progress in one course: three queries whatever the course size, and a
    fourth when "Continue" leads elsewhere than the lesson last opened.

    `lessons`: the course's lessons in course order when the caller has them already (the
    pages' outline), which saves the lesson queries: two then, whatever the step.
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
    known = {lesson.pk: lesson for lesson in lessons or ()}
    if lessons is not None:
        published = [(lesson.pk, lesson.is_required) for lesson in lessons if lesson.is_published]
    else:
        published = list(
            Lesson.objects.filter(course=course, is_published=True)
            .order_by("section__order", "order")
            .values_list("pk", "is_required")
        )
    done = {pk for pk, row in rows.items() if row.is_completed}
    completed = sum(1 for pk, _required in published if pk in done)
    open_lessons = [(pk, required) for pk, required in published if pk not in done]
    last = enrollment.last_lesson if enrollment is not None else None
    step, target = _next_step_choose(
        last_lesson=last,
        last_done=last is not None and last.pk in done,
        first_open_required=next((pk for pk, required in open_lessons if required), None),
        first_open=open_lessons[0][0] if open_lessons else None,
        completed_count=completed,
    )
    resume = None
    if step in (NextStep.RESUME, NextStep.NEXT):
        lesson = last if step == NextStep.RESUME else known.get(target)
        if lesson is None:
            lesson = Lesson.objects.get(pk=target)
        lesson.course = course
        row = rows.get(lesson.pk)
        resume = Resume(lesson=lesson, position_seconds=row.position_seconds if row else 0.0)
    certificate = None
    if enrollment is not None and enrollment.completed_at is not None:
        certificate = Certificate.objects.filter(user=user, course=course).first()
    return CourseProgress(
        enrollment, rows, completed, len(published), resume, certificate, next_step=step
    )


def _published_lesson_count(course: Course) -> int:
    return Lesson.objects.filter(course=course, is_published=True).count()


@dataclass(frozen=True)
class DashboardCourse:
    enrollment: Enrollment
    course: Course
    completed_count: int
    total_count: int
    next_step: NextStep | None  # None: the course has no published lessons yet
    next_lesson: Lesson | None  # where the button leads (None to review, or nothing yet)
    resume_position: float  # the saved video position in `next_lesson`

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
    whatever their size (the lessons each button leads to are found in the database)."""
    completed_here = LessonProgress.objects.filter(
        user=user, status=LessonProgress.Status.COMPLETED
    )
    open_lessons = (
        Lesson.objects.filter(course=OuterRef("course_id"), is_published=True)
        .filter(~Exists(completed_here.filter(lesson=OuterRef("pk"))))
        .order_by("section__order", "order")
        .values("pk")
    )
    enrollments = list(
        Enrollment.objects.filter(user=user, unenrolled_at__isnull=True)
        .filter(_enrolled_course_shown(user))
        .select_related("course", "course__required_tier", "last_lesson")
        .annotate(
            last_done=Exists(completed_here.filter(lesson=OuterRef("last_lesson_id"))),
            first_open_required=Subquery(open_lessons.filter(is_required=True)[:1]),
            first_open=Subquery(open_lessons[:1]),
        )
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
        completed_here.filter(course_id__in=course_ids, lesson__is_published=True)
        .values("course_id")
        .annotate(count=Count("pk"))
        .values_list("course_id", "count")
    )
    steps = {
        enrollment.pk: _next_step_choose(
            last_lesson=enrollment.last_lesson,
            last_done=enrollment.last_done,
            first_open_required=enrollment.first_open_required,
            first_open=enrollment.first_open,
            completed_count=done.get(enrollment.course_id, 0),
        )
        for enrollment in enrollments
    }
    saved_position = Subquery(
        LessonProgress.objects.filter(user=user, lesson=OuterRef("pk")).values("position_seconds")[
            :1
        ]
    )
    targets = {
        lesson.pk: lesson
        for lesson in Lesson.objects.filter(
            pk__in=[target for _step, target in steps.values() if target is not None]
        ).annotate(saved_position=saved_position)
    }
    in_progress, completed = [], []
    for enrollment in enrollments:
        step, target = steps[enrollment.pk]
        lesson = targets.get(target)
        if lesson is not None:
            lesson.course = enrollment.course
        item = DashboardCourse(
            enrollment=enrollment,
            course=enrollment.course,
            completed_count=done.get(enrollment.course_id, 0),
            total_count=totals.get(enrollment.course_id, 0),
            next_step=step,
            next_lesson=lesson,
            resume_position=(lesson.saved_position or 0.0) if lesson is not None else 0.0,
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
