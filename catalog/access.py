"""The access policy: the one place that decides who may see a course or open a lesson.

Pages, the API, playback tokens and downloads all ask these functions.

- Staff see everything; a course's instructors see everything of that course. (Instructors
  have staff status to enter the admin, but not the staff role: `accounts.roles`.)
- Draft courses and unpublished lessons exist only for those two.
- Public courses are open to everyone, member courses to signed-in users, paid courses to
  users whose active tier (``billing.entitlements``) ranks at least the course's tier.
- Free-preview lessons are open to everyone who can see the course.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from accounts.models import User
from accounts.roles import user_has_staff_role
from billing.entitlements import user_active_tier_rank
from billing.models import Tier
from catalog.models import Course, Lesson
from lms.errors import AccessDeniedError, ErrorCode


class Reason(StrEnum):
    STAFF = "staff"
    INSTRUCTOR = "instructor"
    PUBLIC = "public"
    MEMBER = "member"
    ENTITLED = "entitled"
    PREVIEW = "preview"
    LOGIN_REQUIRED = "login_required"
    UPGRADE_REQUIRED = "upgrade_required"


@dataclass(frozen=True)
class Access:
    allowed: bool
    reason: Reason
    required_tier: Tier | None = None

    @property
    def locked(self) -> bool:
        return not self.allowed

    @property
    def denial_code(self) -> ErrorCode:
        """The code a refusal answers with: it names what would open the lesson."""
        if self.reason == Reason.LOGIN_REQUIRED:
            return ErrorCode.LOGIN_REQUIRED
        return ErrorCode.UPGRADE_REQUIRED

    def require(self) -> "Access":
        """Raise `AccessDeniedError(denial_code)` when refused; return this decision otherwise."""
        if self.locked:
            raise AccessDeniedError(self.denial_code)
        return self


def is_course_editor(*, user: User | AnonymousUser, course: Course) -> bool:
    """Staff, or an instructor of this course (uses prefetched instructors when present)."""
    if not user.is_authenticated:
        return False
    if user_has_staff_role(user):
        return True
    prefetched = getattr(course, "_prefetched_objects_cache", {}).get("instructors")
    if prefetched is not None:
        return any(instructor.pk == user.pk for instructor in prefetched)
    return course.instructors.filter(pk=user.pk).exists()


def course_is_visible(*, user: User | AnonymousUser, course: Course) -> bool:
    """Whether the course page exists for this user (drafts only for its editors)."""
    if course.status != Course.Status.DRAFT:
        return True
    return is_course_editor(user=user, course=course)


def lesson_is_visible(*, user: User | AnonymousUser, course: Course, lesson: Lesson) -> bool:
    if not course_is_visible(user=user, course=course):
        return False
    return lesson.is_published or is_course_editor(user=user, course=course)


def course_access(*, user: User | AnonymousUser, course: Course) -> Access:
    """Whether the user may open the course's lessons (free previews aside)."""
    if user_has_staff_role(user):
        return Access(True, Reason.STAFF)
    if course.visibility == Course.Visibility.PUBLIC:
        return Access(True, Reason.PUBLIC)
    if is_course_editor(user=user, course=course):
        return Access(True, Reason.INSTRUCTOR)
    if not user.is_authenticated:
        tier = course.required_tier if course.visibility == Course.Visibility.PAID else None
        return Access(False, Reason.LOGIN_REQUIRED, tier)
    if course.visibility == Course.Visibility.MEMBERS:
        return Access(True, Reason.MEMBER)
    rank = user_active_tier_rank(user=user)
    if rank is not None and course.required_tier is not None and rank >= course.required_tier.rank:
        return Access(True, Reason.ENTITLED, course.required_tier)
    return Access(False, Reason.UPGRADE_REQUIRED, course.required_tier)


def lesson_access(
    *,
    user: User | AnonymousUser,
    course: Course,
    lesson: Lesson,
    course_decision: Access | None = None,
) -> Access:
    """Whether the user may open this lesson's content.

    Pass `course_decision` (from `course_access`) when deciding for many lessons of one
    course, so the course-level answer is computed once.
    """
    decision = course_decision or course_access(user=user, course=course)
    if decision.allowed:
        return decision
    if lesson.is_free_preview:
        return Access(True, Reason.PREVIEW)
    return decision


def courses_open_q(*, user: User | AnonymousUser, prefix: str = "") -> Q:
    """`course_access` as a filter: the courses whose lessons it opens to this user.

    For questions about many courses in one query (search). It reads the same rules as
    `course_access`, and a test checks that the two agree for every kind of user and course.
    `prefix` reaches the course from another model ("course__" from a lesson).
    """
    if user_has_staff_role(user):
        return Q(**{f"{prefix}pk__isnull": False})
    opened = Q(**{f"{prefix}visibility": Course.Visibility.PUBLIC})
    if not user.is_authenticated:
        return opened
    taught = Course.objects.filter(instructors=user).values("pk")
    opened |= Q(**{f"{prefix}visibility": Course.Visibility.MEMBERS})
    opened |= Q(**{f"{prefix}pk__in": taught})
    rank = user_active_tier_rank(user=user)
    if rank is not None:
        opened |= Q(
            **{
                f"{prefix}visibility": Course.Visibility.PAID,
                f"{prefix}required_tier__rank__lte": rank,
            }
        )
    return opened


def lessons_open_q(*, user: User | AnonymousUser) -> Q:
    """`lesson_access` as a filter on lessons (of courses the user may see): the lessons of
    open courses, and free previews."""
    return courses_open_q(user=user, prefix="course__") | Q(is_free_preview=True)
