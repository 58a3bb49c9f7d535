"""`GET /api/v1/lessons/<id>/`: a lesson's content, behind the access policy."""

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.access import course_access
from catalog.api.serializers import (
    TAG,
    AccessSerializer,
    CourseRefSerializer,
    LessonRefSerializer,
    MarkdownHtmlField,
    SectionRefSerializer,
    absolute_url,
)
from catalog.models import Lesson
from catalog.selectors import OutlineLesson, course_outline_get, lesson_get_by_id
from lms.api.schema import error_responses
from lms.errors import ErrorCode, NotFoundError


class LessonDetailApi(APIView):
    """A lesson's content, only when the access policy opens it to the requesting user."""

    @extend_schema_serializer(component_name="LessonDetail")
    class OutputSerializer(serializers.ModelSerializer):
        """An open lesson with its notes and its neighbours in course order."""

        # Access and neighbours come from the view's context: the view has already asked
        # the access policy before building this, and a locked lesson never gets here.

        course = CourseRefSerializer()
        section = SectionRefSerializer()
        access = serializers.SerializerMethodField()
        body_html = MarkdownHtmlField(source="body")
        previous = serializers.SerializerMethodField()
        next = serializers.SerializerMethodField()
        url = serializers.SerializerMethodField(help_text="The lesson's web page.")

        class Meta:
            model = Lesson
            fields = [
                "id",
                "slug",
                "title",
                "kind",
                "duration_seconds",
                "order",
                "is_free_preview",
                "is_boss",
                "xp_value",
                "course",
                "section",
                "access",
                "body_html",
                "previous",
                "next",
                "url",
            ]
            read_only_fields = fields

        @extend_schema_field(AccessSerializer)
        def get_access(self, lesson: Lesson) -> dict[str, Any]:
            return AccessSerializer(self.context["access"]).data

        @extend_schema_field(LessonRefSerializer(allow_null=True))
        def get_previous(self, lesson: Lesson) -> dict[str, Any] | None:
            return _lesson_ref(self.context["previous"])

        @extend_schema_field(LessonRefSerializer(allow_null=True))
        def get_next(self, lesson: Lesson) -> dict[str, Any] | None:
            return _lesson_ref(self.context["next"])

        @extend_schema_field(serializers.URLField())
        def get_url(self, lesson: Lesson) -> str:
            return absolute_url(self.context.get("request"), lesson.get_absolute_url())

    @extend_schema(
        operation_id="lessons_retrieve",
        tags=[TAG],
        summary="Get a lesson's content",
        description=(
            "403 `LOGIN_REQUIRED` or `UPGRADE_REQUIRED` when the tier keeps the lesson from "
            "the requesting user; 403 `LOCKED_PREREQUISITE` (the message names what to "
            "complete) or `LOCKED_UNTIL` (`retry_at`: when it opens, if known) when the "
            "course's rules do. The content is then not sent. A hidden lesson is 404 but for "
            "staff and the course's instructors."
        ),
        responses={200: OutputSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
        # The tier first, from the lesson alone: a locked lesson costs no outline.
        decision = course_access(user=request.user, course=lesson.course)
        if decision.locked and not lesson.is_free_preview:
            decision.require()
        # The outline decides the structure lock from the sections it loads anyway.
        outline = course_outline_get(user=request.user, course=lesson.course)
        item = outline.find(lesson)
        if item is None:  # deleted or hidden since it was read
            raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
        access = item.access.require()
        previous, following = outline.neighbours(lesson)
        context = {"request": request, "access": access, "previous": previous, "next": following}
        return Response(self.OutputSerializer(lesson, context=context).data)


def _lesson_ref(item: OutlineLesson | None) -> dict[str, Any] | None:
    """A neighbour in the outline as {id, slug, title}, or None at either end of the course."""
    return LessonRefSerializer(item).data if item is not None else None
