"""Who may use the authoring API, and which rows they reach: the admin's rules.

Staff (the Staff role) author everything; instructors author the courses they teach and
nothing else. As in the admin (`catalog.admin.InstructorScopeMixin`), a course an instructor
does not teach "does not exist" for them: its id answers 404 COURSE_NOT_FOUND, like an id
that is nobody's. What a role may do at all (add, change, delete) is its group's Django
permissions (`accounts.roles`): instructors add and change, they do not delete.
"""

from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User
from accounts.roles import Role, user_has_staff_role, user_role_get
from catalog.models import Course, Lesson, Section
from lms.errors import AccessDeniedError, ErrorCode, NotFoundError


def user_is_author(user: User | AnonymousUser) -> bool:
    """Staff and instructors author; learners and moderators do not."""
    return user.is_authenticated and user_role_get(user) in (Role.STAFF, Role.INSTRUCTOR)


def author_permission_require(*, user: User, action: str, model: type) -> None:
    """403 PERMISSION_DENIED unless the user's role may `action` ("add", "change", "delete",
    "view") rows of `model`, by the same Django permissions the admin checks."""
    codename = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
    if not user.has_perm(codename):
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)


def authored_courses(*, user: User) -> QuerySet[Course]:
    """The courses this author may edit: every course for staff, their own for instructors."""
    courses = Course.objects.all()
    if user_has_staff_role(user):
        return courses
    return courses.filter(instructors=user)


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (TypeError, ValueError):
        return None


def course_for_author(*, user: User, course_id: UUID | str) -> Course:
    """The course, if this author may edit it; else 404 COURSE_NOT_FOUND."""
    pk = _uuid_or_none(course_id)
    course = authored_courses(user=user).filter(pk=pk).first() if pk else None
    if course is None:
        raise NotFoundError(ErrorCode.COURSE_NOT_FOUND)
    return course


def section_for_author(*, user: User, section_id: UUID | str) -> Section:
    """The section, if this author may edit its course; else 404 SECTION_NOT_FOUND."""
    pk = _uuid_or_none(section_id)
    courses = authored_courses(user=user).values("pk")
    section = (
        Section.objects.select_related("course").filter(pk=pk, course__in=courses).first()
        if pk
        else None
    )
    if section is None:
        raise NotFoundError(ErrorCode.SECTION_NOT_FOUND)
    return section


def lesson_for_author(*, user: User, lesson_id: UUID | str) -> Lesson:
    """The lesson, if this author may edit its course; else 404 LESSON_NOT_FOUND."""
    pk = _uuid_or_none(lesson_id)
    courses = authored_courses(user=user).values("pk")
    lesson = (
        Lesson.objects.select_related("course", "section").filter(pk=pk, course__in=courses).first()
        if pk
        else None
    )
    if lesson is None:
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
    return lesson


class IsAuthor(BasePermission):
    """Signed in (else 401) with the Staff or Instructor role (else 403 PERMISSION_DENIED)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_is_author(request.user)
