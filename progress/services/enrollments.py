"""Enrollments: one click, by join code, by invite or by staff; unenrolling keeps history."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.access import course_access
from catalog.models import Course, Lesson
from lms.errors import ApplicationError, ErrorCode
from lms.events import ServerEvent, server_events_record
from progress.models import Enrollment


@transaction.atomic
def enrollment_create(*, user: User, course: Course, source: str) -> Enrollment:
    """Enroll the user in the course, however they came (the one write path for enrollments).

    An active enrollment is returned as it is; an unenrolled one comes back to life with its
    history (progress, XP, completion) intact. Takes the learner's lock, like every progress
    write, so it never races the enrollment a first lesson completion creates.
    """
    from progress.services.learning import learner_stats_lock

    learner_stats_lock(user=user)
    enrollment, created = Enrollment.objects.select_for_update().get_or_create(
        user=user, course=course, defaults={"source": source}
    )
    revived = not created and enrollment.unenrolled_at is not None
    if revived:
        enrollment.unenrolled_at = None
        enrollment.save(update_fields=["unenrolled_at"])
    if created or revived:
        server_events_record(
            events=[enrollment_event(enrollment=enrollment, revived=revived, at=timezone.now())]
        )
    return enrollment


def enrollment_event(
    *, enrollment: Enrollment, revived: bool, at: datetime | None = None
) -> ServerEvent:
    """The analytics event of an enrollment: created once per row; coming back after
    unenrolling is a new one, keyed by its time."""
    key = f"{enrollment.pk}:{at.isoformat()}" if revived and at else str(enrollment.pk)
    return ServerEvent(
        type="enrollment.created",
        key=key,
        user_id=enrollment.user_id,
        occurred_at=(at if revived else enrollment.created_at) or timezone.now(),
        course_id=enrollment.course_id,
        properties={"source": enrollment.source},
    )


def _check_enrollable(*, user: User, course: Course) -> None:
    if course.status != Course.Status.PUBLISHED:
        # Drafts are only reachable by their editors, who preview rather than enroll;
        # archived courses keep their learners but take no new ones.
        raise ApplicationError(ErrorCode.ENROLLMENT_NOT_ALLOWED)


def enrollment_enroll(*, user: User, course: Course) -> Enrollment:
    """One-click enrollment, for courses the access policy opens to this user."""
    _check_enrollable(user=user, course=course)
    decision = course_access(user=user, course=course)
    if decision.locked:
        raise ApplicationError(decision.denial_code)
    return enrollment_create(user=user, course=course, source=Enrollment.Source.SELF)


def course_join(*, user: User, code: str) -> Enrollment:
    """Enroll by a course's join code (matched ignoring case and spaces).

    A join code enrolls; it does not open paid lessons, which still need the tier.
    """
    normalized = "".join(code.split()).upper()
    course = Course.objects.filter(join_code=normalized).first() if normalized else None
    if course is None or course.status == Course.Status.DRAFT:
        raise ApplicationError(ErrorCode.JOIN_CODE_NOT_FOUND)
    _check_enrollable(user=user, course=course)
    return enrollment_create(user=user, course=course, source=Enrollment.Source.JOIN_CODE)


@transaction.atomic
def enrollment_unenroll(*, user: User, course: Course) -> Enrollment:
    """Leave a course. The row, progress, XP and certificates stay; enrolling again resumes."""
    enrollment = (
        Enrollment.objects.select_for_update()
        .filter(user=user, course=course, unenrolled_at__isnull=True)
        .first()
    )
    if enrollment is None:
        raise ApplicationError(ErrorCode.NOT_ENROLLED)
    enrollment.unenrolled_at = timezone.now()
    enrollment.save(update_fields=["unenrolled_at"])
    return enrollment


def enrollment_lesson_opened(*, enrollment: Enrollment | None, lesson: Lesson) -> bool:
    """Remember `lesson` as the one its learner last opened, so "Continue" leads back to it.

    Takes the enrollment the caller already loaded (the lesson page has it): reopening the
    lesson last opened costs no query, opening another one a single UPDATE. Only an active
    enrollment in the lesson's course moves, and only to a published lesson (an editor's
    preview of a draft is no place to continue). Returns whether anything was written.
    """
    if (
        enrollment is None
        or not enrollment.is_active
        or enrollment.course_id != lesson.course_id
        or not lesson.is_published
        or enrollment.last_lesson_id == lesson.pk
    ):
        return False
    now = timezone.now()
    Enrollment.objects.filter(pk=enrollment.pk, unenrolled_at__isnull=True).update(
        last_lesson=lesson, last_activity_at=now
    )
    enrollment.last_lesson, enrollment.last_activity_at = lesson, now
    return True
