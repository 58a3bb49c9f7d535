"""What the catalog's structure rules need to know about a learner (`catalog.structure`).

The catalog sits below `progress`, so it cannot read enrollments, progress or cohorts; this
loader is registered at start-up (`ProgressConfig.ready`) and answers in at most three
queries: the learner's progress rows in the course, their enrollment with their cohort's
start, and (only when the course has prerequisite courses) which of those they completed.
The first two are skipped when a page already read them (`learner_facts_remember`).
"""

from dataclasses import replace
from uuid import UUID

from django.db.models import Subquery

from accounts.models import User
from catalog.models import Course
from catalog.structure import LearnerFacts
from progress.models import CohortMembership, Enrollment, LessonProgress


def cohort_start_subquery(*, user: User, course_id: UUID) -> Subquery:
    """The start day of the learner's cohort in the course, to annotate their enrollment."""
    return Subquery(
        CohortMembership.objects.filter(user=user, course_id=course_id).values("cohort__starts_on")[
            :1
        ]
    )


def learner_facts_remember(*, user: User, course: Course, facts: LearnerFacts) -> None:
    """Keep on this course instance what a caller read of the learner anyway (the course and
    lesson pages load their progress rows and enrollment before the outline), so deciding the
    rules for them afterwards reads neither again. `completed_course_ids` is not taken from
    `facts`: the loader asks for the prerequisite courses the rules name."""
    course._learner_facts = (user.pk, facts)


def learner_facts_remember_read(
    *,
    user: User,
    course: Course,
    enrollment,
    completed_ids: frozenset[UUID],
    started_ids: frozenset[UUID],
    with_cohort: bool = True,
) -> None:
    """`learner_facts_remember` from an enrollment and progress the caller read: the rules
    count from an enrollment only while it is active. `with_cohort=False` when the caller
    did not read the cohort start (no rule of the course counts from it)."""
    active = enrollment is not None and enrollment.is_active
    learner_facts_remember(
        user=user,
        course=course,
        facts=LearnerFacts(
            completed_lesson_ids=completed_ids,
            started_lesson_ids=started_ids,
            enrolled_at=enrollment.created_at if active else None,
            cohort_starts_on=enrollment.cohort_starts_on if active and with_cohort else None,
        ),
    )


def learner_facts_load(user: User, course: Course, course_ids: tuple[UUID, ...]) -> LearnerFacts:
    remembered = getattr(course, "_learner_facts", None)
    if remembered is not None and remembered[0] == user.pk:
        facts = remembered[1]
    else:
        facts = _progress_facts_load(user=user, course=course)
    if course_ids:
        facts = replace(
            facts,
            completed_course_ids=frozenset(
                Enrollment.objects.filter(
                    user=user, course_id__in=course_ids, completed_at__isnull=False
                ).values_list("course_id", flat=True)
            ),
        )
    return facts


def _progress_facts_load(*, user: User, course: Course) -> LearnerFacts:
    completed: set[UUID] = set()
    started: set[UUID] = set()
    for lesson_id, status in LessonProgress.objects.filter(
        user=user, course_id=course.pk
    ).values_list("lesson_id", "status"):
        started.add(lesson_id)
        if status == LessonProgress.Status.COMPLETED:
            completed.add(lesson_id)
    enrollment = (
        Enrollment.objects.filter(user=user, course_id=course.pk, unenrolled_at__isnull=True)
        .annotate(cohort_starts_on=cohort_start_subquery(user=user, course_id=course.pk))
        .values("created_at", "cohort_starts_on")
        .first()
    )
    if enrollment is None:  # release counts from an enrollment (or a cohort it came with)
        enrollment = {"created_at": None, "cohort_starts_on": None}
    return LearnerFacts(
        completed_lesson_ids=frozenset(completed),
        started_lesson_ids=frozenset(started),
        enrolled_at=enrollment["created_at"],
        cohort_starts_on=enrollment["cohort_starts_on"],
    )
