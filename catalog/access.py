"""The access policy: the one place that decides who may see a course or open a lesson.

Pages, the API, playback tokens and downloads all ask these functions.

- Staff see everything; a course's instructors see everything of that course. (Instructors
  have staff status to enter the admin, but not the staff role: `accounts.roles`.)
- Draft courses and unpublished lessons exist only for those two.
- Public courses are open to everyone, member courses to signed-in users, paid courses to
  users whose active tier (``billing.entitlements``) ranks at least the course's tier.
- Free-preview lessons are open to everyone who can see the course.
- Then the course's structure rules (`catalog.structure`: hidden items, prerequisites,
  sequential progression, scheduled release) apply to everyone but staff and the course's
  instructors: a hidden section or lesson is not visible, a locked one answers
  `LOCKED_PREREQUISITE` or `LOCKED_UNTIL` (distinct from the tier's `LOGIN_REQUIRED` and
  `UPGRADE_REQUIRED`, which are decided first).

Deciding for many lessons of one course, pass the course decision (`course_access`) and the
structure (`course_structure_get`) so each is computed once.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import user_has_staff_role
from billing.entitlements import user_active_tier_rank
from billing.models import Tier
from catalog.models import Course, Lesson
from catalog.structure import (
    LOCK_PREREQUISITE,
    Lock,
    Structure,
    course_rules_get,
    course_structure_get,
    course_structure_plain,
)
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
    # Structure rules (`catalog.structure`): the tier would open it, the course's rules not yet.
    LOCKED_PREREQUISITE = "locked_prerequisite"
    LOCKED_UNTIL = "locked_until"


_DENIAL_CODES = {
    Reason.LOGIN_REQUIRED: ErrorCode.LOGIN_REQUIRED,
    Reason.UPGRADE_REQUIRED: ErrorCode.UPGRADE_REQUIRED,
    Reason.LOCKED_PREREQUISITE: ErrorCode.LOCKED_PREREQUISITE,
    Reason.LOCKED_UNTIL: ErrorCode.LOCKED_UNTIL,
}


@dataclass(frozen=True)
class Access:
    allowed: bool
    reason: Reason
    required_tier: Tier | None = None
    # Structure locks only: what to complete first, and when it opens (if known).
    requires: tuple[str, ...] = ()
    opens_at: datetime | None = None
    opens_after_days: int | None = None

    @classmethod
    def from_lock(cls, lock: Lock) -> "Access":
        reason = (
            Reason.LOCKED_PREREQUISITE if lock.kind == LOCK_PREREQUISITE else Reason.LOCKED_UNTIL
        )
        return cls(
            False,
            reason,
            requires=lock.requires,
            opens_at=lock.opens_at,
            opens_after_days=lock.opens_after_days,
        )

    @property
    def locked(self) -> bool:
        return not self.allowed

    @property
    def denial_code(self) -> ErrorCode:
        """The code a refusal answers with: it names what would open the lesson."""
        return _DENIAL_CODES.get(self.reason, ErrorCode.UPGRADE_REQUIRED)

    @property
    def is_structure_lock(self) -> bool:
        return self.reason in (Reason.LOCKED_PREREQUISITE, Reason.LOCKED_UNTIL)

    @property
    def message(self) -> str | None:
        """The refusal's message when it says more than the code's own: what to complete."""
        if self.reason == Reason.LOCKED_PREREQUISITE and self.requires:
            names = ", ".join(f"“{title}”" for title in self.requires)
            return gettext("Complete %(names)s first.") % {"names": names}
        return None

    def require(self) -> "Access":
        """Raise `AccessDeniedError(denial_code)` when refused; return this decision otherwise.
        A scheduled lock carries its opening instant (`retry_at` in the API envelope)."""
        if self.locked:
            raise AccessDeniedError(self.denial_code, self.message, retry_at=self.opens_at)
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


def lesson_is_visible(
    *,
    user: User | AnonymousUser,
    course: Course,
    lesson: Lesson,
    structure: Structure | None = None,
) -> bool:
    """Whether the lesson exists for this user: unpublished and hidden lessons (or lessons of
    hidden sections) only for the course's editors."""
    if not course_is_visible(user=user, course=course):
        return False
    if lesson.is_published and not lesson.is_hidden:
        if structure is not None:
            return not structure.lesson_hidden(lesson)
        if not _section_hidden(course=course, lesson=lesson):
            return True
    return is_course_editor(user=user, course=course)


def _section_hidden(*, course: Course, lesson: Lesson) -> bool:
    """Whether the lesson's section is hidden: from the loaded section when there is one
    (`select_related`), else from the course's rules."""
    if Lesson.section.is_cached(lesson):
        return lesson.section.is_hidden
    return lesson.section_id in course_rules_get(course=course).hidden_section_ids


def structure_for(
    *, user: User | AnonymousUser, course: Course, now: datetime | None = None
) -> Structure:
    """The course's structure rules decided for this user (`catalog.structure`). A course
    whose rules neither hide nor lock anything is the same for everyone: no question of who
    edits it is asked then."""
    rules = course_rules_get(course=course)
    if not rules.needs_facts and not rules.hidden_section_ids and not rules.hidden_lesson_ids:
        return Structure(bypass=False, rules=rules)
    return course_structure_get(
        user=user, course=course, editor=is_course_editor(user=user, course=course), now=now
    )


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
    structure: Structure | None = None,
) -> Access:
    """Whether the user may open this lesson's content: the tier first, then the structure.

    Pass `course_decision` (from `course_access`) and `structure` (from `structure_for`)
    when deciding for many lessons of one course, so each is computed once.
    """
    decision = course_decision or course_access(user=user, course=course)
    if decision.locked:
        if not lesson.is_free_preview:
            return decision
        decision = Access(True, Reason.PREVIEW)
    if structure is None:
        # A lesson loaded with `lesson_rule_flags` whose course has no rules needs none read.
        plain = getattr(lesson, "rules_course_plain", False)
        structure = (
            course_structure_plain(course=course)
            if plain
            else structure_for(user=user, course=course)
        )
    lock = structure.lesson_lock(lesson)
    return Access.from_lock(lock) if lock is not None else decision


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
    open courses, and free previews; never hidden ones but for their editors.

    Structure locks that depend on the learner's history (prerequisites, release dates) are
    not expressible as a filter: callers that show content (not just titles) also ask
    `lesson_access` with the course's structure."""
    opened = courses_open_q(user=user, prefix="course__") | Q(is_free_preview=True)
    if user_has_staff_role(user):
        return opened
    return opened & lessons_shown_q(user=user)


def lessons_shown_q(*, user: User | AnonymousUser) -> Q:
    """`lesson_is_visible`'s structure part as a filter on lessons: never hidden ones (or
    those of hidden sections) but for the course's editors. Searches filter with it, so a
    hidden lesson is not even a title-only hit."""
    if user_has_staff_role(user):
        return Q(pk__isnull=False)
    shown = Q(is_hidden=False, section__is_hidden=False)
    if user.is_authenticated:
        shown |= Q(course__in=Course.objects.filter(instructors=user).values("pk"))
    return shown
