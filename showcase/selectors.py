"""Reads of the showcase: the public list (filters, search), one project for a viewer, a
person's own projects, and who may do what with a project.

Who sees a project: everyone once it is approved (and not deleted); before that only its
author and staff. A deleted project is found by nobody but for its restore (its author,
within the restore window, and staff). A related course is shown only to viewers the
course page exists for (`catalog.access.course_is_visible`).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from accounts.roles import user_has_staff_role
from catalog.models import Course
from lms.errors import ErrorCode, NotFoundError
from showcase.models import Project, ProjectLink, Tag

Viewer = User | AnonymousUser
SEARCH_MAX_WORDS = 8


def _with_relations(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """Everything a card or a detail shows, in a fixed number of queries for any count."""
    return queryset.select_related("author", "course").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("links", queryset=ProjectLink.objects.order_by("order")),
    )


def project_is_staff_viewer(*, user: Viewer) -> bool:
    return user.is_authenticated and user.is_active and user_has_staff_role(user)


def project_is_mine(*, user: Viewer, project: Project) -> bool:
    return user.is_authenticated and project.author_id == user.pk


def project_can_edit(*, user: Viewer, project: Project) -> bool:
    """Staff edit any project; its author while it is not approved (and not deleted)."""
    if project.deleted_at is not None or not user.is_authenticated:
        return False
    if project_is_staff_viewer(user=user):
        return True
    return project_is_mine(user=user, project=project) and (
        project.status != Project.Status.APPROVED
    )


def project_restorable_until(*, project: Project) -> datetime | None:
    """Until when its author may restore a deleted project (None when it is not deleted)."""
    if project.deleted_at is None:
        return None
    return project.deleted_at + timedelta(days=settings.LMS_SHOWCASE_RESTORE_DAYS)


def _search_q(text: str) -> Q:
    """Every word in the title, the summary or the detail (any of them)."""
    condition = Q()
    for word in text.split()[:SEARCH_MAX_WORDS]:
        condition &= (
            Q(title__icontains=word) | Q(summary__icontains=word) | Q(detail__icontains=word)
        )
    return condition


def projects_public_list(
    *, search: str = "", course: Course | None = None, tag: Tag | None = None
) -> QuerySet[Project]:
    """Approved, not deleted projects, the most recently published first."""
    queryset = Project.objects.filter(status=Project.Status.APPROVED, deleted_at__isnull=True)
    if course is not None:
        queryset = queryset.filter(course=course)
    if tag is not None:
        queryset = queryset.filter(tags=tag)
    if search.strip():
        queryset = queryset.filter(_search_q(search))
    return _with_relations(queryset.order_by("-published_at", "-created_at", "-id"))


def projects_of_user(*, user: User) -> QuerySet[Project]:
    """Everything `user` authored or submitted, every status, deleted ones too."""
    return _with_relations(Project.objects.filter(author=user).order_by("-created_at", "-id"))


def project_get(*, user: Viewer, slug: str) -> Project:
    """The project at `slug` as `user` may see it: PROJECT_NOT_FOUND otherwise (deleted,
    or not approved and neither theirs nor a staff viewer's)."""
    project = _with_relations(Project.objects.filter(slug=slug)).first()
    if project is None or project.deleted_at is not None:
        raise NotFoundError(ErrorCode.PROJECT_NOT_FOUND)
    if project.status != Project.Status.APPROVED and not (
        project_is_mine(user=user, project=project) or project_is_staff_viewer(user=user)
    ):
        raise NotFoundError(ErrorCode.PROJECT_NOT_FOUND)
    return project


def project_get_deleted(*, user: Viewer, slug: str) -> Project:
    """A project `user` may restore or see as theirs, deleted or not (its author, staff)."""
    project = _with_relations(Project.objects.filter(slug=slug)).first()
    if project is None or not (
        project_is_mine(user=user, project=project) or project_is_staff_viewer(user=user)
    ):
        raise NotFoundError(ErrorCode.PROJECT_NOT_FOUND)
    return project


def visible_course_ids(*, user: Viewer, projects: Iterable[Project]) -> set:
    """The ids of the projects' courses whose page exists for `user`: one query at most,
    for the draft courses among them (which only their instructors and staff see)."""
    courses = {project.course_id: project.course for project in projects if project.course_id}
    drafts = {pk for pk, course in courses.items() if course.status == Course.Status.DRAFT}
    visible = set(courses) - drafts
    if drafts and user.is_authenticated:
        if user_has_staff_role(user):
            visible |= drafts
        else:
            taught = Course.objects.filter(pk__in=drafts, instructors=user).values_list(
                "pk", flat=True
            )
            visible |= set(taught)
    return visible


def project_course_choices(*, user: User) -> QuerySet[Course]:
    """The courses a learner may submit a project for: those they are enrolled in (not
    drafts); staff choose any course."""
    if project_is_staff_viewer(user=user):
        return Course.objects.order_by("title")
    return (
        Course.objects.filter(enrollments__user=user, enrollments__unenrolled_at__isnull=True)
        .exclude(status=Course.Status.DRAFT)
        .distinct()
        .order_by("title")
    )


def project_filter_courses() -> QuerySet[Course]:
    """Courses that public projects are about, for the list's filter."""
    return (
        Course.objects.filter(
            projects__status=Project.Status.APPROVED,
            projects__deleted_at__isnull=True,
        )
        .exclude(status=Course.Status.DRAFT)
        .distinct()
        .order_by("title")
    )


def tags_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")
