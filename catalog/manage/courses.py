"""Authoring API: courses (`/api/v1/manage/courses/...`): list, create, read with the outline,
edit, delete, publish, unpublish, archive.

Staff author every course; instructors the courses they teach, and a course an instructor
creates is theirs. Another instructor's course answers 404 COURSE_NOT_FOUND, as in the admin.
Every write goes through `catalog.services` with the caller as the actor (audited).
"""

import uuid

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import user_has_staff_role
from catalog.manage.common import (
    changes_of,
    course_with_outline,
    courses_for_list,
    create_retryable,
    created_response,
)
from catalog.manage.permissions import (
    IsAuthor,
    author_permission_require,
    authored_courses,
    course_for_author,
)
from catalog.manage.serializers import (
    CourseDetailSerializer,
    CourseSerializer,
    client_id_field,
    courses_by_id,
    ids_field,
    tier_field,
    users_by_id,
)
from catalog.models import Course
from catalog.services import course_create, course_delete, course_set_status, course_update
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.errors import AccessDeniedError, ErrorCode

TAG = "manage"
INSTRUCTORS_STAFF_ONLY = "Only staff choose a course's instructors."


class _CourseInput(serializers.Serializer):
    """A course's editable fields (status has its own operations)."""

    title = serializers.CharField(max_length=200)
    slug = serializers.SlugField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="Unique; made from the title when left out on create.",
    )
    subtitle = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="Markdown."
    )
    course_type = serializers.ChoiceField(choices=Course.CourseType.choices, required=False)
    difficulty = serializers.ChoiceField(choices=Course.Difficulty.choices, required=False)
    locale = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    visibility = serializers.ChoiceField(choices=Course.Visibility.choices, required=False)
    required_tier = tier_field(required=False)
    instructors = ids_field(
        "User ids of the course's instructors (staff only; an instructor's new course is theirs).",
        required=False,
    )
    progression = serializers.ChoiceField(
        choices=Course.Progression.choices,
        required=False,
        help_text="free, sections (each needs the one before) or lessons (each lesson too).",
    )
    prerequisite_courses = ids_field(
        "Ids of courses learners complete before this one opens (replaces the list): courses "
        "the caller authors or published ones; never itself, nor one that requires it.",
        required=False,
    )


def _prerequisites(request: Request, ids: list | None) -> list[Course] | None:
    """The prerequisite courses to set, None to leave them: any the caller authors, or any
    course learners can see (not a draft)."""
    if ids is None:
        return None
    visible = authored_courses(user=request.user) | Course.objects.exclude(
        status=Course.Status.DRAFT
    )
    return courses_by_id(ids, visible=visible)


def _instructors(request: Request, ids: list | None) -> list | None:
    """The instructors to set (users), None to leave them; only staff choose them."""
    if ids is None:
        return None
    if not user_has_staff_role(request.user):
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED, INSTRUCTORS_STAFF_ONLY)
    return users_by_id(ids)


def _detail(request: Request, course: Course) -> dict:
    return CourseDetailSerializer(course_with_outline(course), context={"request": request}).data


class CourseListApi(APIView):
    """The courses the caller authors, and new ones."""

    permission_classes = [IsAuthor]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=Course.Status.choices, required=False, help_text="Only courses in this status."
        )

    @extend_schema_serializer(component_name="ManageCourseCreate")
    class InputSerializer(_CourseInput):
        client_id = client_id_field()

    @extend_schema(
        operation_id="manage_courses_list",
        tags=[TAG],
        summary="List the courses I author",
        description=(
            "Every course for staff; the courses they teach for instructors; drafts and "
            "archived courses included, by title. 403 `PERMISSION_DENIED` for learners."
        ),
        parameters=[FilterSerializer],
        responses={200: CourseSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        author_permission_require(user=request.user, action="view", model=Course)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        courses = authored_courses(user=request.user).order_by("title", "pk")
        if "status" in filters.validated_data:
            courses = courses.filter(status=filters.validated_data["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(courses_for_list(courses), request, view=self)
        data = CourseSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="manage_courses_create",
        tags=[TAG],
        summary="Create a course (a draft)",
        description=(
            "A new course is a draft; an instructor's new course is theirs (only staff "
            "send `instructors`: 403 `PERMISSION_DENIED` otherwise). 201 with the course; "
            "200 with the course a create with the same `client_id` made before; 409 "
            "`CLIENT_ID_CONFLICT` when the client_id names a course the caller cannot "
            "edit. 400 `VALIDATION_ERROR` with `fields` (a taken slug, a paid course "
            "without a tier, an unknown tier, user or prerequisite course)."
        ),
        request=InputSerializer,
        responses={
            201: CourseDetailSerializer,
            200: CourseDetailSerializer,
            **error_responses(400, 401, 403, 409),
        },
        examples=[
            OpenApiExample(
                "A course",
                request_only=True,
                value={
                    "client_id": "salsa-101",
                    "title": "Salsa On1: First Steps",
                    "visibility": "members",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        author_permission_require(user=request.user, action="add", model=Course)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        client_id = values.pop("client_id", "")
        chosen = _instructors(request, values.pop("instructors", None))
        prerequisites = _prerequisites(request, values.pop("prerequisite_courses", None))
        if prerequisites:
            values["prerequisite_courses"] = prerequisites
        instructors = chosen if user_has_staff_role(request.user) else [request.user]
        course, created = create_retryable(
            client_id=client_id,
            existing=lambda: (
                authored_courses(user=request.user).filter(client_id=client_id).first()
            ),
            elsewhere=lambda: Course.objects.filter(client_id=client_id).exists(),
            create=lambda: course_create(
                **values, instructors=instructors or (), client_id=client_id, actor=request.user
            ),
        )
        return created_response(_detail(request, course), created)


class CourseDetailApi(APIView):
    """One course the caller authors, with its outline."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageCourseUpdate")
    class InputSerializer(_CourseInput):
        pass

    @extend_schema(
        operation_id="manage_courses_retrieve",
        tags=[TAG],
        summary="Get a course with its outline",
        description=(
            "Every section and lesson in order, unpublished ones included. 404 "
            "`COURSE_NOT_FOUND` for a course the caller does not author."
        ),
        responses={200: CourseDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="view", model=Course)
        return Response(_detail(request, course))

    @extend_schema(
        operation_id="manage_courses_partial_update",
        tags=[TAG],
        summary="Edit a course",
        description=(
            "Send only what changes. Only staff send `instructors` (403 "
            "`PERMISSION_DENIED`). 400 `VALIDATION_ERROR` with `fields` (also "
            "`prerequisite_courses` naming the course itself or one that requires it, "
            "`progression` sequential while a section requires a later one); 404 "
            "`COURSE_NOT_FOUND`. The status changes through publish, unpublish and archive."
        ),
        request=InputSerializer(partial=True),
        responses={200: CourseDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="change", model=Course)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        instructors = _instructors(request, values.pop("instructors", None))
        prerequisites = _prerequisites(request, values.pop("prerequisite_courses", None))
        changes = changes_of(course, values)
        if instructors is not None and {user.pk for user in instructors} != set(
            course.instructors.values_list("pk", flat=True)
        ):
            changes["instructors"] = instructors
        if prerequisites is not None and {other.pk for other in prerequisites} != set(
            course.prerequisite_courses.values_list("pk", flat=True)
        ):
            changes["prerequisite_courses"] = prerequisites
        course_update(course=course, data=changes, actor=request.user)
        return Response(_detail(request, course))

    @extend_schema(
        operation_id="manage_courses_destroy",
        tags=[TAG],
        summary="Delete a course",
        description=(
            "Staff only (403 `PERMISSION_DENIED` for instructors). Deletes the course with "
            "its sections, lessons and quizzes; 409 `CONTENT_IN_USE` (with `fields.records`) "
            "when learners have records in it (enrollments, progress, certificates, invites): "
            "archive it instead."
        ),
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="delete", model=Course)
        course_delete(course=course, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _CourseStatusApi(APIView):
    """Move a course to `status` by the publishing rule (`catalog.services`)."""

    permission_classes = [IsAuthor]
    status: str = ""

    def post(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="change", model=Course)
        course_set_status(course=course, status=self.status, actor=request.user)
        course = courses_for_list(Course.objects.all()).get(pk=course.pk)
        return Response(CourseSerializer(course, context={"request": request}).data)


def _status_schema(name: str, summary: str, description: str):
    return extend_schema(
        operation_id=f"manage_courses_{name}",
        tags=[TAG],
        summary=summary,
        description=description + " 404 `COURSE_NOT_FOUND` for a course the caller does not "
        "author. Repeating it changes nothing.",
        request=None,
        responses={200: CourseSerializer, **error_responses(401, 403, 404)},
    )


class CoursePublishApi(_CourseStatusApi):
    status = Course.Status.PUBLISHED

    @_status_schema(
        "publish",
        "Publish a course",
        "Lists the course for learners. The first publication dates it (`published_at`); "
        "later ones keep that date.",
    )
    def post(self, request: Request, course_id: uuid.UUID) -> Response:
        return super().post(request, course_id)


class CourseUnpublishApi(_CourseStatusApi):
    status = Course.Status.DRAFT

    @_status_schema(
        "unpublish",
        "Unpublish a course (back to draft)",
        "Only its authors see a draft; enrolled learners keep their progress.",
    )
    def post(self, request: Request, course_id: uuid.UUID) -> Response:
        return super().post(request, course_id)


class CourseArchiveApi(_CourseStatusApi):
    status = Course.Status.ARCHIVED

    @_status_schema(
        "archive",
        "Archive a course",
        "An archived course leaves the catalog list; its page and lessons stay open to "
        "those the access policy lets in, and learners keep their progress.",
    )
    def post(self, request: Request, course_id: uuid.UUID) -> Response:
        return super().post(request, course_id)


urlpatterns = [
    path("courses/", CourseListApi.as_view(), name="course-list"),
    path("courses/<uuid:course_id>/", CourseDetailApi.as_view(), name="course-detail"),
    path("courses/<uuid:course_id>/publish/", CoursePublishApi.as_view(), name="course-publish"),
    path(
        "courses/<uuid:course_id>/unpublish/",
        CourseUnpublishApi.as_view(),
        name="course-unpublish",
    ),
    path("courses/<uuid:course_id>/archive/", CourseArchiveApi.as_view(), name="course-archive"),
]
