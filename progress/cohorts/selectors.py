"""Reading cohorts: a course's cohorts (for filters and pickers) and who is in one."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, QuerySet

from progress.models import Cohort, CohortMembership


def course_cohorts(*, course_id: UUID) -> list[Cohort]:
    """The course's cohorts, newest start first (the model's order). One query."""
    return list(Cohort.objects.filter(course_id=course_id).only("id", "name", "starts_on"))


def cohorts_with_member_count(queryset: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """`queryset` annotated with `member_count`, in the same query."""
    return queryset.annotate(member_count=Count("memberships", distinct=True))


def cohort_member_ids(*, cohort_id: int) -> QuerySet:
    """The user ids of a cohort's members, as a subquery (`user_id__in=...`): filtering by
    it costs no query of its own, however large the cohort."""
    return CohortMembership.objects.filter(cohort_id=cohort_id).values("user_id")


def cohort_of_course(*, course_id: UUID, cohort_id: int) -> Cohort | None:
    """The cohort `cohort_id` if it belongs to the course, else None (another course's
    cohort "does not exist" here). One query."""
    return Cohort.objects.filter(course_id=course_id, pk=cohort_id).first()
