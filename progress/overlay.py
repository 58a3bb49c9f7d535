"""One learner's state laid over a course's compiled outline (`catalog.outline`, issue 18).

The compiled outline is the same for everyone; what differs per learner is small: whether
they may open each lesson (the tier, then the course's structure rules), their marks, where
"Continue" leads and the counts. This module reads it in a few `values()`-sized queries (the
enrollment, the progress rows; the structure rules add what they need of the learner only
when a rule depends on it) and answers per lesson on demand, so a page that shows part of
the outline (a lesson page) pays for that part only.

The answers are the ones `catalog.selectors.course_outline_get` and
`progress.selectors.course_progress_get` give (a property test checks it over random
courses and learners): those stay the slow, obvious way for callers outside the pages.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from uuid import UUID

from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from catalog.access import Access, Reason, course_access, is_course_editor, structure_for
from catalog.models import Course, Lesson, Section
from catalog.outline import CompiledLesson, CompiledOutline, Visible
from catalog.structure import Lock, Structure
from progress.models import Certificate, Enrollment, LessonProgress
from progress.selectors import EnrollmentFigures, NextStep, _course_plan, _Plan
from progress.structure import cohort_start_subquery, learner_facts_remember_read

COMPLETED = LessonProgress.Status.COMPLETED
NOT_STARTED = LessonProgress.Status.NOT_STARTED
_PREVIEW = Access(True, Reason.PREVIEW)


@dataclass(frozen=True)
class LessonMark:
    """A learner's progress row in a lesson, as the pages read it."""

    status: str
    position_seconds: float
    watched_seconds: float
    completed_at: datetime | None

    @property
    def is_completed(self) -> bool:
        return self.status == COMPLETED


@dataclass(frozen=True)
class OverlayLesson:
    """A lesson of the outline for this learner (what `catalog.selectors.OutlineLesson` is
    for the slow way): the compiled lesson, their access and its number in the course."""

    lesson: CompiledLesson
    access: Access
    number: int

    @property
    def locked(self) -> bool:
        return self.access.locked


@dataclass(frozen=True)
class OutlineOverlay(EnrollmentFigures):
    """One learner's state over a compiled outline. Fields are what was read; the rest is
    answered on demand (`access_of`, `status_of`, the plan behind "Continue")."""

    compiled: CompiledOutline
    visible: Visible  # what this viewer sees of the course
    access: Access  # the course's tier decision for them (`catalog.access.course_access`)
    structure: Structure  # the course's rules decided for them
    signed_in: bool
    enrollment: Enrollment | None  # any, active or not
    marks: dict[UUID, LessonMark]
    completed_count: int  # lessons that count (published, not hidden) completed
    certificate: Certificate | None = None
    _locks: dict[Lock, Access] = field(default_factory=dict, repr=False, compare=False)

    # --- The course as this viewer sees it (what the templates read of an Outline) ---------
    @property
    def lessons(self) -> tuple[UUID, ...]:
        return self.visible.lesson_ids

    @property
    def lesson_count(self) -> int:
        return self.visible.lesson_count

    @property
    def duration_seconds(self) -> int:
        return self.visible.duration_seconds

    @property
    def required_count(self) -> int:
        return self.visible.required_count

    @property
    def section_count(self) -> int:
        return len(self.visible.section_ids)

    # --- Per lesson and section -------------------------------------------------------------
    def _lock_access(self, lock: Lock) -> Access:
        found = self._locks.get(lock)
        if found is None:
            found = self._locks[lock] = Access.from_lock(lock)
        return found

    def access_of(self, lesson_id: UUID) -> Access:
        """`catalog.access.lesson_access` for this learner: the tier, then the rules."""
        lesson = self.compiled.lesson_by_id[lesson_id]
        decision = self.access
        if decision.locked:
            if not lesson.is_free_preview:
                return decision
            decision = _PREVIEW
        lock = self.structure.lesson_lock(lesson)
        return self._lock_access(lock) if lock is not None else decision

    def section_lock(self, section_id: UUID) -> Access | None:
        lock = self.structure.section_lock(section_id)
        return self._lock_access(lock) if lock is not None else None

    def status_of(self, lesson_id: UUID) -> str:
        mark = self.marks.get(lesson_id)
        return mark.status if mark is not None else NOT_STARTED

    def entry(self, lesson_id: UUID | None) -> OverlayLesson | None:
        """The lesson as this viewer's outline has it, or None when they do not see it."""
        number = self.visible.numbers.get(lesson_id) if lesson_id is not None else None
        if number is None:
            return None
        return OverlayLesson(
            self.compiled.lesson_by_id[lesson_id], self.access_of(lesson_id), number
        )

    def neighbours(self, lesson_id: UUID) -> tuple[OverlayLesson | None, OverlayLesson | None]:
        """The lessons before and after it in course order, across sections."""
        number = self.visible.numbers.get(lesson_id)
        if number is None:
            return None, None
        ids = self.visible.lesson_ids
        previous = self.entry(ids[number - 2]) if number > 1 else None
        following = self.entry(ids[number]) if number < len(ids) else None
        return previous, following

    def first_open(self) -> OverlayLesson | None:
        """The first lesson this viewer may open (a free preview of a locked course)."""
        for lesson_id in self.visible.lesson_ids:
            if self.access_of(lesson_id).allowed:
                return self.entry(lesson_id)
        return None

    def section_of(self, lesson_id: UUID | None) -> UUID | None:
        """The section of that lesson, else the first section (where a newcomer starts)."""
        if lesson_id is not None and lesson_id in self.visible.numbers:
            return self.compiled.lesson_by_id[lesson_id].section_id
        return self.visible.section_ids[0] if self.visible.section_ids else None

    # --- Progress (what `progress.selectors.CourseProgress` says) ---------------------------
    @property
    def total_count(self) -> int:
        return len(self.compiled.counted)

    @cached_property
    def plan(self) -> _Plan | None:
        """The step the course's button offers and its lesson (`_course_plan`, the rule
        every surface shares); None for visitors."""
        if not self.signed_in:
            return None
        last = self.enrollment.last_lesson_id if self.enrollment is not None else None
        return _course_plan(
            lessons=self.compiled.counted,
            done={pk for pk, mark in self.marks.items() if mark.is_completed},
            structure=self.structure,
            last_lesson_id=last,
        )

    @property
    def next_step(self) -> NextStep | None:
        return self.plan.step if self.plan is not None else None

    @property
    def waiting(self) -> Access | None:
        return self.plan.waiting if self.plan is not None else None

    @property
    def resume_lesson_id(self) -> UUID | None:
        """The lesson "Continue" leads to by the plan (last opened, or next to do)."""
        plan = self.plan
        if plan is None or plan.step not in (NextStep.RESUME, NextStep.NEXT):
            return None
        if plan.step == NextStep.RESUME:
            return self.enrollment.last_lesson_id
        return plan.target

    def resume_point(self) -> tuple[OverlayLesson | None, float]:
        """Where "Continue" leads for an enrolled learner, and the video position there; None
        when not enrolled, not started, or the lesson is not in their outline or locked."""
        if not self.is_enrolled:
            return None, 0.0
        item = self.entry(self.resume_lesson_id)
        if item is None or item.locked:
            return None, 0.0
        mark = self.marks.get(item.lesson.id)
        position = mark.position_seconds if mark and item.lesson.kind == Lesson.Kind.VIDEO else 0.0
        # Under a second in is the very start: "Continue at 0:00" would only add noise.
        return item, position if position >= 1 else 0.0


def outline_overlay_get(
    *, user: User | AnonymousUser, course: Course, compiled: CompiledOutline
) -> OutlineOverlay:
    """This user's state over the course's compiled outline: no query for a visitor of an
    open course; for a learner their enrollment and progress rows (two queries), plus what
    the access policy and the rules need (the tier of a paid course, early unlocks where
    something is locked, completed prerequisite courses) and the certificate once the course
    is completed. `course` is the instance `outline_compiled_get` was given (it holds the
    course's rules and prefetched instructors)."""
    enrollment, marks = _learner_read(user=user, course=course, compiled=compiled)
    structure = structure_for(user=user, course=course)
    editor = is_course_editor(user=user, course=course) if user.is_authenticated else False
    counted = compiled.counted_ids
    certificate = None
    if enrollment is not None and enrollment.completed_at is not None:
        certificate = Certificate.objects.filter(user=user, course=course).first()
    return OutlineOverlay(
        compiled=compiled,
        visible=compiled.audience(editor=editor, bypass=structure.bypass),
        access=course_access(user=user, course=course),
        structure=structure,
        signed_in=user.is_authenticated,
        enrollment=enrollment,
        marks=marks,
        completed_count=sum(
            1 for pk, mark in marks.items() if mark.status == COMPLETED and pk in counted
        ),
        certificate=certificate,
    )


def _learner_read(
    *, user: User | AnonymousUser, course: Course, compiled: CompiledOutline
) -> tuple[Enrollment | None, dict[UUID, LessonMark]]:
    """The learner's enrollment and progress rows (two queries; none for a visitor), handed
    to the rules' loader too (`learner_facts_remember`), so deciding them reads neither again.
    Their cohort's start is read with the enrollment only when a section's release counts
    from it: no other rule reads it."""
    if not user.is_authenticated:
        return None, {}
    enrollments = Enrollment.objects.filter(user=user, course=course)
    by_cohort = any(
        section.release_after_days is not None
        and section.release_from == Section.ReleaseFrom.COHORT
        for section in compiled.rules.sections
    )
    if by_cohort:
        enrollments = enrollments.annotate(
            cohort_starts_on=cohort_start_subquery(user=user, course_id=course.pk)
        )
    enrollment = enrollments.first()
    marks = {
        lesson_id: LessonMark(status, position, watched, completed_at)
        for lesson_id, status, position, watched, completed_at in LessonProgress.objects.filter(
            user=user, course=course
        ).values_list("lesson_id", "status", "position_seconds", "watched_seconds", "completed_at")
    }
    learner_facts_remember_read(
        user=user,
        course=course,
        enrollment=enrollment,
        completed_ids=frozenset(pk for pk, mark in marks.items() if mark.is_completed),
        started_ids=frozenset(marks),
        with_cohort=by_cohort,
    )
    return enrollment, marks
