"""`GET /api/v1/courses/` and `GET /api/v1/courses/<slug>/`: the catalog and one course."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.serializers import (
    TAG,
    AccessSerializer,
    CourseFieldsSerializer,
    LessonHitSerializer,
    MarkdownHtmlField,
    OutlineSectionSerializer,
)
from catalog.models import Course
from catalog.search import LESSONS_PER_COURSE, lesson_hits_for
from catalog.selectors import Outline, course_get, course_list, course_outline_get
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses


class CourseListApi(APIView):
    """Published courses, newest first (best matches first when searching on PostgreSQL)."""

    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=200,
            help_text="Full-text search of courses and their lessons.",
        )
        type = serializers.ChoiceField(
            choices=Course.CourseType.choices, required=False, allow_blank=True
        )
        difficulty = serializers.ChoiceField(
            choices=Course.Difficulty.choices, required=False, allow_blank=True
        )

    @extend_schema_serializer(component_name="CourseListItem")
    class OutputSerializer(CourseFieldsSerializer):
        """A course in the catalog, with its published lessons' count and total duration."""

        lesson_count = serializers.IntegerField()
        duration_seconds = serializers.IntegerField(source="total_duration_seconds")
        matching_lessons = serializers.SerializerMethodField(
            help_text=f"With `q`: the best lessons found in this course (at most "
            f"{LESSONS_PER_COURSE}), best first; empty without `q`."
        )
        matching_lesson_count = serializers.SerializerMethodField(
            help_text="With `q`: how many lessons of this course it found in all."
        )

        class Meta(CourseFieldsSerializer.Meta):
            fields = [
                *CourseFieldsSerializer.Meta.fields,
                "lesson_count",
                "duration_seconds",
                "matching_lessons",
                "matching_lesson_count",
            ]
            read_only_fields = fields

        @extend_schema_field(LessonHitSerializer(many=True))
        def get_matching_lessons(self, course: Course) -> list[dict[str, Any]]:
            hits = getattr(course, "search_hits", None)
            lessons = hits.lessons if hits else []
            return LessonHitSerializer(lessons, many=True, context=self.context).data

        def get_matching_lesson_count(self, course: Course) -> int:
            hits = getattr(course, "search_hits", None)
            return hits.total if hits else 0

    @extend_schema(
        operation_id="courses_list",
        tags=[TAG],
        summary="List published courses",
        parameters=[FilterSerializer],
        description=(
            "`q` searches course titles, subtitles and descriptions, and lesson titles and "
            "notes: a course is found through its lessons too, and lists the lessons found "
            "in `matching_lessons`. Only published lessons of listed courses are searched; "
            "a lesson locked for the requesting user matches on its title only and has no "
            "snippet."
        ),
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        search = filters.validated_data.get("q", "")
        courses = course_list(
            search=search,
            course_type=filters.validated_data.get("type") or None,
            difficulty=filters.validated_data.get("difficulty") or None,
            user=request.user,
        )
        paginator = self.pagination_class()
        page = list(paginator.paginate_queryset(courses, request, view=self))
        # The lessons found in this page's courses: one query for the page.
        hits = lesson_hits_for(courses=page, user=request.user, text=search)
        for course in page:
            course.search_hits = hits.get(course.pk)
        data = self.OutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class CourseDetailApi(APIView):
    """One course with its outline, as the requesting user may see it."""

    @extend_schema_serializer(component_name="CourseDetail")
    class OutputSerializer(CourseFieldsSerializer):
        """A course with its outline; `access` and `locked` are for the requesting user."""

        # The outline comes from the view (context["outline"]): one selector call serves
        # the access decision, the counts and the sections.

        description_html = MarkdownHtmlField(source="description")
        access = serializers.SerializerMethodField()
        lesson_count = serializers.SerializerMethodField()
        duration_seconds = serializers.SerializerMethodField()
        sections = serializers.SerializerMethodField()

        class Meta(CourseFieldsSerializer.Meta):
            fields = [
                *CourseFieldsSerializer.Meta.fields,
                "description_html",
                "access",
                "lesson_count",
                "duration_seconds",
                "sections",
            ]
            read_only_fields = fields

        @property
        def outline(self) -> Outline:
            return self.context["outline"]

        @extend_schema_field(AccessSerializer)
        def get_access(self, course: Course) -> dict[str, Any]:
            return AccessSerializer(self.outline.access).data

        def get_lesson_count(self, course: Course) -> int:
            return self.outline.lesson_count

        def get_duration_seconds(self, course: Course) -> int:
            return self.outline.duration_seconds

        @extend_schema_field(OutlineSectionSerializer(many=True))
        def get_sections(self, course: Course) -> list[dict[str, Any]]:
            return OutlineSectionSerializer(self.outline.sections, many=True).data

    @extend_schema(
        operation_id="courses_retrieve",
        tags=[TAG],
        summary="Get a course with its outline",
        description=(
            "Draft courses exist only for staff and the course's instructors. Each section "
            "and lesson says whether it is `locked` for the requesting user; a lock of the "
            "course's own rules (prerequisites, sequential progression, scheduled release) is "
            "described in `lock` with its code (`LOCKED_PREREQUISITE`, `LOCKED_UNTIL`), what "
            "to complete and when it opens. Hidden sections and lessons are left out, but for "
            "staff and the course's instructors (`is_hidden`)."
        ),
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        course = course_get(user=request.user, slug=slug)
        outline = course_outline_get(user=request.user, course=course)
        context = {"request": request, "outline": outline}
        return Response(self.OutputSerializer(course, context=context).data)
