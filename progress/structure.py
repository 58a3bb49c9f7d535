"""What the catalog's structure rules need to know about a learner (`catalog.structure`).

The catalog sits below `progress`, so it cannot read enrollments, progress or cohorts; this
loader is registered at start-up (`ProgressConfig.ready`) and answers in at most three
queries: the learner's progress rows in the course, their enrollment with their cohort's
start, and (only when the course has prerequisite courses) which of those they completed.
"""

from uuid import UUID

from django.db.models import Subquery

from accounts.models import User
from catalog.models import Course
from catalog.structure import LearnerFacts
from progress.models import CohortMembership, Enrollment, LessonProgress


def learner_facts_load(user: User, course: Course, course_ids: tuple[UUID, ...]) -> LearnerFacts:
    completed: set[UUID] = set()
    started: set[UUID] = set()
    for lesson_id, status in LessonProgress.objects.filter(
        user=user, course_id=course.pk
    ).values_list("lesson_id", "status"):
        started.add(lesson_id)
        if status == LessonProgress.Status.COMPLETED:
            completed.add(lesson_id)
    cohort_start = CohortMembership.objects.filter(user=user, course_id=course.pk).values(
        "cohort__starts_on"
    )[:1]
    enrollment = (
        Enrollment.objects.filter(user=user, course_id=course.pk, unenrolled_at__isnull=True)
        .annotate(cohort_starts_on=Subquery(cohort_start))
        .values("created_at", "cohort_starts_on")
        .first()
    )
    if enrollment is None:  # release counts from an enrollment (or a cohort it came with)
        enrollment = {"created_at": None, "cohort_starts_on": None}
    completed_courses: frozenset[UUID] = frozenset()
    if course_ids:
        completed_courses = frozenset(
            Enrollment.objects.filter(
                user=user, course_id__in=course_ids, completed_at__isnull=False
            ).values_list("course_id", flat=True)
        )
    return LearnerFacts(
        completed_lesson_ids=frozenset(completed),
        started_lesson_ids=frozenset(started),
        enrolled_at=enrollment["created_at"],
        cohort_starts_on=enrollment["cohort_starts_on"],
        completed_course_ids=completed_courses,
    )
