"""Authoring API: sections (`/api/v1/manage/courses/<id>/sections/...`, `sections/<id>/`):
list and create a course's sections, put them in order, read, rename and delete one.

A section of a course the caller does not author answers 404 SECTION_NOT_FOUND.
"""

import uuid

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.manage.common import (
    changes_of,
    course_with_outline,
    create_retryable,
    created_response,
    sections_with_lessons,
)
from catalog.manage.permissions import (
    IsAuthor,
    author_permission_require,
    course_for_author,
    section_for_author,
)
from catalog.manage.serializers import (
    CourseDetailSerializer,
    SectionRulesInput,
    SectionSerializer,
    client_id_field,
    ids_field,
    sections_by_id,
)
from catalog.models import Section
from catalog.services import section_create, section_delete, section_update, sections_reorder
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses

TAG = "manage"


def _rules(values: dict, *, course) -> dict:
    """The prerequisite ids in `values` as sections of the course (VALIDATION_ERROR else)."""
    if "prerequisites" in values:
        values["prerequisites"] = sections_by_id(values["prerequisites"], course=course)
    return values


RULES_HELP = (
    " Structure rules: `is_hidden`, `prerequisites` (ids of sections of the same course; "
    "400 `VALIDATION_ERROR` with `fields.prerequisites` for another course's section, the "
    "section itself, one that requires it, or a later one in a sequential course), "
    "`release_at`, `release_after_days` and `release_from`."
)


def _section(request: Request, section: Section) -> dict:
    section = sections_with_lessons(Section.objects.filter(pk=section.pk)).get()
    return SectionSerializer(section, context={"request": request}).data


class CourseSectionsApi(APIView):
    """A course's sections in order, and new ones (added at the end)."""

    permission_classes = [IsAuthor]
    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="ManageSectionCreate")
    class InputSerializer(SectionRulesInput):
        client_id = client_id_field()
        title = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="manage_course_sections_list",
        tags=[TAG],
        summary="List a course's sections",
        description="In order, each with its lessons. 404 `COURSE_NOT_FOUND`.",
        responses={200: SectionSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="view", model=Section)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            sections_with_lessons(Section.objects.filter(course=course)), request, view=self
        )
        data = SectionSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="manage_course_sections_create",
        tags=[TAG],
        summary="Add a section to a course",
        description=(
            "At the end of the course. 201 with the section; 200 with the section a create "
            "with the same `client_id` made before in this course. 404 `COURSE_NOT_FOUND`."
            + RULES_HELP
        ),
        request=InputSerializer,
        responses={
            201: SectionSerializer,
            200: SectionSerializer,
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="add", model=Section)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _rules(dict(data.validated_data), course=course)
        client_id = values.pop("client_id", "")
        section, created = create_retryable(
            client_id=client_id,
            existing=lambda: course.sections.filter(client_id=client_id).first(),
            elsewhere=lambda: False,  # client ids of sections are unique per course
            create=lambda: section_create(
                course=course, **values, client_id=client_id, actor=request.user
            ),
        )
        return created_response(_section(request, section), created)


class CourseSectionsOrderApi(APIView):
    """Put a course's sections in a new order."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageSectionsOrder")
    class InputSerializer(serializers.Serializer):
        sections = ids_field("Every section id of the course, once each, in the new order.")

    @extend_schema(
        operation_id="manage_course_sections_order",
        tags=[TAG],
        summary="Reorder a course's sections",
        description=(
            "Answers the course with its outline in the new order. 400 `VALIDATION_ERROR` "
            "(`fields.sections`) unless the list holds every section of the course exactly "
            "once. 404 `COURSE_NOT_FOUND`."
        ),
        request=InputSerializer,
        responses={200: CourseDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, course_id: uuid.UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="change", model=Section)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sections_reorder(
            course=course, section_ids=data.validated_data["sections"], actor=request.user
        )
        course = course_with_outline(course)
        return Response(CourseDetailSerializer(course, context={"request": request}).data)


class SectionDetailApi(APIView):
    """One section: read, edit (title and structure rules), delete."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageSectionUpdate")
    class InputSerializer(SectionRulesInput):
        title = serializers.CharField(max_length=200, required=False)

    @extend_schema(
        operation_id="manage_sections_retrieve",
        tags=[TAG],
        summary="Get a section with its lessons",
        description="404 `SECTION_NOT_FOUND` for a section of a course the caller does not author.",
        responses={200: SectionSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, section_id: uuid.UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        author_permission_require(user=request.user, action="view", model=Section)
        return Response(_section(request, section))

    @extend_schema(
        operation_id="manage_sections_partial_update",
        tags=[TAG],
        summary="Edit a section",
        description="Send only what changes. The order changes through the course's "
        "`sections/order/`. 404 `SECTION_NOT_FOUND`." + RULES_HELP,
        request=InputSerializer,
        responses={200: SectionSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, section_id: uuid.UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        author_permission_require(user=request.user, action="change", model=Section)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _rules(dict(data.validated_data), course=section.course)
        changes = changes_of(section, values)
        if "prerequisites" in changes and {other.pk for other in changes["prerequisites"]} == set(
            section.prerequisites.values_list("pk", flat=True)
        ):
            changes.pop("prerequisites")
        section_update(section=section, data=changes, actor=request.user)
        return Response(_section(request, section))

    @extend_schema(
        operation_id="manage_sections_destroy",
        tags=[TAG],
        summary="Delete a section and its lessons",
        description=(
            "Staff only (403 `PERMISSION_DENIED` for instructors). 409 `CONTENT_IN_USE` "
            "(with `fields.records`) when learners have records on its lessons: unpublish "
            "the lessons instead. 404 `SECTION_NOT_FOUND`."
        ),
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, section_id: uuid.UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        author_permission_require(user=request.user, action="delete", model=Section)
        section_delete(section=section, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("courses/<uuid:course_id>/sections/", CourseSectionsApi.as_view(), name="course-sections"),
    path(
        "courses/<uuid:course_id>/sections/order/",
        CourseSectionsOrderApi.as_view(),
        name="course-sections-order",
    ),
    path("sections/<uuid:section_id>/", SectionDetailApi.as_view(), name="section-detail"),
]
