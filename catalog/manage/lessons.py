"""Authoring API: lessons (`/api/v1/manage/sections/<id>/lessons/...`, `lessons/<id>/`): list
and create a section's lessons, put them in order, read, edit (moving to another section of
the course included) and delete one. Every kind (video, text, quiz, lab); the video and the
attachments are links to the media library by id, by the admin's rules: any video that is not
deleted, any confirmed attachment file (instructors pick from that list in the admin too).

A lesson of a course the caller does not author answers 404 LESSON_NOT_FOUND.
"""

import uuid
from typing import Any

from django.db.models import Max
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.manage.common import (
    changes_of,
    create_retryable,
    created_response,
    lesson_in_full,
    sections_with_lessons,
)
from catalog.manage.permissions import (
    IsAuthor,
    author_permission_require,
    lesson_for_author,
    section_for_author,
)
from catalog.manage.serializers import (
    INT_MAX,
    LessonSerializer,
    LessonSummarySerializer,
    SectionSerializer,
    attachments_by_id,
    client_id_field,
    ids_field,
    video_by_id,
)
from catalog.models import Lesson, Section
from catalog.services import lesson_create, lesson_delete, lesson_update, lessons_reorder
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses

TAG = "manage"


class _LessonInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    slug = serializers.SlugField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="Unique in the course; made from the title when left out on create.",
    )
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices, required=False)
    body = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="Notes, Markdown."
    )
    duration_seconds = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False)
    is_free_preview = serializers.BooleanField(required=False)
    is_published = serializers.BooleanField(required=False)
    is_hidden = serializers.BooleanField(
        required=False,
        help_text="Published but absent for learners (staff and instructors see it); not "
        "counted for completion.",
    )
    xp_value = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False)
    is_boss = serializers.BooleanField(required=False)
    is_required = serializers.BooleanField(required=False)
    video = serializers.UUIDField(
        required=False, allow_null=True, help_text="A video of the library (not deleted); null."
    )
    attachments = ids_field(
        "Confirmed attachment files of the library: they replace the lesson's.", required=False
    )


def _links(values: dict[str, Any]) -> dict[str, Any]:
    """The video and attachment ids in `values` as rows (VALIDATION_ERROR for unknown ids)."""
    if "video" in values:
        values["video"] = video_by_id(values["video"])
    if "attachments" in values:
        values["attachments"] = attachments_by_id(values["attachments"])
    return values


def _lesson(request: Request, lesson: Lesson) -> dict:
    return LessonSerializer(lesson_in_full(lesson), context={"request": request}).data


class SectionLessonsApi(APIView):
    """A section's lessons in order, and new ones (added at the end)."""

    permission_classes = [IsAuthor]
    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="ManageLessonCreate")
    class InputSerializer(_LessonInput):
        client_id = client_id_field()

    @extend_schema(
        operation_id="manage_section_lessons_list",
        tags=[TAG],
        summary="List a section's lessons",
        description="In order, unpublished ones included. 404 `SECTION_NOT_FOUND`.",
        responses={200: LessonSummarySerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, section_id: uuid.UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        author_permission_require(user=request.user, action="view", model=Lesson)
        paginator = self.pagination_class()
        lessons = Lesson.objects.filter(section=section).order_by("order").defer("body")
        page = paginator.paginate_queryset(lessons, request, view=self)
        return paginator.get_paginated_response(LessonSummarySerializer(page, many=True).data)

    @extend_schema(
        operation_id="manage_section_lessons_create",
        tags=[TAG],
        summary="Add a lesson to a section",
        description=(
            "Any kind: a quiz lesson's questions go to `lessons/<id>/quiz/questions/`. At the "
            "end of the section. 201 with the lesson; 200 with the lesson a create with the "
            "same `client_id` made before in this section; 409 `CLIENT_ID_CONFLICT` when "
            "the client_id names a lesson of another section of the course. 400 "
            "`VALIDATION_ERROR` with `fields` (a slug taken in the course, an unknown video "
            "or file). 404 `SECTION_NOT_FOUND`."
        ),
        request=InputSerializer,
        responses={
            201: LessonSerializer,
            200: LessonSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        examples=[
            OpenApiExample(
                "A text lesson",
                request_only=True,
                value={
                    "client_id": "salsa-101/basic-step",
                    "title": "The basic step",
                    "kind": "text",
                    "body": "Step forward on **one**.",
                    "duration_seconds": 300,
                },
            )
        ],
    )
    def post(self, request: Request, section_id: uuid.UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        author_permission_require(user=request.user, action="add", model=Lesson)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        client_id = values.pop("client_id", "")
        lessons = Lesson.objects.filter(course_id=section.course_id, client_id=client_id)
        lesson, created = create_retryable(
            client_id=client_id,
            existing=lambda: lessons.filter(section=section).first(),
            elsewhere=lambda: lessons.exists(),
            create=lambda: lesson_create(
                section=section, **_links(values), client_id=client_id, actor=request.user
            ),
        )
        return created_response(_lesson(request, lesson), created)


class SectionLessonsOrderApi(APIView):
    """Put a section's lessons in a new order."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageLessonsOrder")
    class InputSerializer(serializers.Serializer):
        lessons = ids_field("Every lesson id of the section, once each, in the new order.")

    @extend_schema(
        operation_id="manage_section_lessons_order",
        tags=[TAG],
        summary="Reorder a section's lessons",
        description=(
            "Answers the section with its lessons in the new order. 400 `VALIDATION_ERROR` "
            "(`fields.lessons`) unless the list holds every lesson of the section exactly "
            "once. 404 `SECTION_NOT_FOUND`."
        ),
        request=InputSerializer,
        responses={200: SectionSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, section_id: uuid.UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        author_permission_require(user=request.user, action="change", model=Lesson)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lessons_reorder(
            section=section, lesson_ids=data.validated_data["lessons"], actor=request.user
        )
        section = sections_with_lessons(Section.objects.filter(pk=section.pk)).get()
        return Response(SectionSerializer(section, context={"request": request}).data)


class LessonDetailApi(APIView):
    """One lesson in full: read, edit, move, delete."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageLessonUpdate")
    class InputSerializer(_LessonInput):
        section = serializers.UUIDField(
            required=False,
            help_text="Move the lesson to this section of the same course (at its end).",
        )

    @extend_schema(
        operation_id="manage_lessons_retrieve",
        tags=[TAG],
        summary="Get a lesson in full",
        description=(
            "Notes, video and attachments included; a quiz lesson's quiz is at "
            "`lessons/<id>/quiz/`. 404 `LESSON_NOT_FOUND`."
        ),
        responses={200: LessonSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = lesson_for_author(user=request.user, lesson_id=lesson_id)
        author_permission_require(user=request.user, action="view", model=Lesson)
        return Response(_lesson(request, lesson))

    @extend_schema(
        operation_id="manage_lessons_partial_update",
        tags=[TAG],
        summary="Edit or move a lesson",
        description=(
            "Send only what changes; `attachments` replaces the lesson's files, `video` null "
            "unlinks its video. `section` moves it to the end of another section of the same "
            "course (400 `VALIDATION_ERROR` for a section elsewhere). 400 `VALIDATION_ERROR` "
            "with `fields`; 404 `LESSON_NOT_FOUND`."
        ),
        request=InputSerializer(partial=True),
        responses={200: LessonSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = lesson_for_author(user=request.user, lesson_id=lesson_id)
        author_permission_require(user=request.user, action="change", model=Lesson)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = _links(dict(data.validated_data))
        target = _move_target(lesson, values.pop("section", None))
        changes = changes_of(lesson, values)
        if "attachments" in changes and {file.pk for file in changes["attachments"]} == set(
            lesson.attachments.values_list("pk", flat=True)
        ):
            changes.pop("attachments")
        if target is not None:
            changes["order"] = _end_of(target)
        lesson_update(lesson=lesson, data=changes, section=target, actor=request.user)
        return Response(_lesson(request, lesson))

    @extend_schema(
        operation_id="manage_lessons_destroy",
        tags=[TAG],
        summary="Delete a lesson",
        description=(
            "Staff only (403 `PERMISSION_DENIED` for instructors). 409 `CONTENT_IN_USE` "
            "(with `fields.records`) when learners have records on it (progress, quiz "
            "attempts, discussions): unpublish it instead. 404 `LESSON_NOT_FOUND`."
        ),
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = lesson_for_author(user=request.user, lesson_id=lesson_id)
        author_permission_require(user=request.user, action="delete", model=Lesson)
        lesson_delete(lesson=lesson, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _move_target(lesson: Lesson, section_id: uuid.UUID | None) -> Section | None:
    """The section a PATCH moves the lesson to (None: it stays), of the lesson's course."""
    if section_id is None or section_id == lesson.section_id:
        return None
    section = Section.objects.filter(pk=section_id, course_id=lesson.course_id).first()
    if section is None:
        raise serializers.ValidationError(
            {"section": ["Move a lesson to a section of its own course."]}
        )
    return section


def _end_of(section: Section) -> int:
    last = Lesson.objects.filter(section=section).aggregate(last=Max("order"))["last"]
    return 0 if last is None else last + 1


urlpatterns = [
    path(
        "sections/<uuid:section_id>/lessons/", SectionLessonsApi.as_view(), name="section-lessons"
    ),
    path(
        "sections/<uuid:section_id>/lessons/order/",
        SectionLessonsOrderApi.as_view(),
        name="section-lessons-order",
    ),
    path("lessons/<uuid:lesson_id>/", LessonDetailApi.as_view(), name="lesson-detail"),
]
