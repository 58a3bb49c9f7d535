"""Catalog read API (`/api/v1/`): course list, course detail with outline, lesson detail.

One class per operation, each with its own nested serializers. Access is decided only by
`catalog.access`, reached through the selectors; a locked lesson answers 403 and its body
never leaves the server.
"""

import uuid
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Tier
from catalog.access import Access, Reason, course_access
from catalog.models import Course, Lesson, Section
from catalog.search import LESSONS_PER_COURSE, LessonHit, lesson_hits_for
from catalog.selectors import (
    Outline,
    OutlineLesson,
    OutlineSection,
    course_get,
    course_list,
    course_outline_get,
    lesson_get_by_id,
)
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.errors import ErrorCode, NotFoundError
from lms.markdown import render_markdown

TAG = "catalog"


# --- Pieces shared by several operations -------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class MarkdownHtmlField(serializers.Field):
    """Staff-written Markdown as sanitized HTML (`lms.markdown`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str:
        return str(render_markdown(value))


def _absolute(request: Request | None, url: str) -> str:
    # Storage URLs may already be absolute (S3); build_absolute_uri leaves those alone.
    return request.build_absolute_uri(url) if request is not None else url


@extend_schema_serializer(component_name="TierRef")
class TierRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["slug", "name", "rank"]


@extend_schema_serializer(component_name="Access")
class AccessSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=[(reason.value, reason.value) for reason in Reason])
    required_tier = TierRefSerializer(allow_null=True)


@extend_schema_serializer(component_name="StructureLock")
class StructureLockSerializer(serializers.Serializer):
    """Why the course's own rules keep a section or lesson closed to the requesting user, and
    when it opens (`catalog.structure`), distinct from a tier lock (`access.reason`)."""

    code = serializers.ChoiceField(
        source="denial_code.value",
        choices=[("LOCKED_PREREQUISITE", "LOCKED_PREREQUISITE"), ("LOCKED_UNTIL", "LOCKED_UNTIL")],
        help_text="LOCKED_PREREQUISITE: complete `requires` first. LOCKED_UNTIL: opens at "
        "`opens_at` (or `opens_after_days` after enrolling, before the learner enrolled).",
    )
    requires = serializers.ListField(
        child=serializers.CharField(),
        help_text="Titles of the sections or courses to complete first (LOCKED_PREREQUISITE).",
    )
    opens_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When it opens, in the learner's time zone; null when not known yet.",
    )
    opens_after_days = serializers.IntegerField(
        allow_null=True,
        help_text="Days after enrolling it opens, while the learner has not enrolled.",
    )


def _lock_data(lock: Access | None) -> dict[str, Any] | None:
    """A structure lock as the API shows it, or None (open, or locked by the tier only)."""
    if lock is None or not lock.is_structure_lock:
        return None
    return StructureLockSerializer(lock).data


@extend_schema_serializer(component_name="CourseRef")
class CourseRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["slug", "title"]


@extend_schema_serializer(component_name="SectionRef")
class SectionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Section
        fields = ["id", "title"]


@extend_schema_serializer(component_name="LessonRef")
class LessonRefSerializer(serializers.Serializer):
    """A link to another lesson (built from an outline entry)."""

    id = serializers.UUIDField(source="lesson.id")
    slug = serializers.SlugField(source="lesson.slug")
    title = serializers.CharField(source="lesson.title")


class CourseFieldsSerializer(serializers.ModelSerializer):
    """The fields every course representation shares. Ids are UUIDs, never integers."""

    type = serializers.ChoiceField(source="course_type", choices=Course.CourseType.choices)
    required_tier = TierRefSerializer(allow_null=True)
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The course's web page.")

    class Meta:
        model = Course
        fields = [
            "id",
            "slug",
            "title",
            "subtitle",
            "type",
            "difficulty",
            "locale",
            "visibility",
            "required_tier",
            "thumbnail_url",
            "published_at",
            "url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, course: Course) -> str | None:
        if not course.thumbnail:
            return None
        return _absolute(self.context.get("request"), course.thumbnail.url)

    @extend_schema_field(serializers.URLField())
    def get_url(self, course: Course) -> str:
        return _absolute(self.context.get("request"), course.get_absolute_url())


@extend_schema_serializer(component_name="OutlineLesson")
class OutlineLessonSerializer(serializers.Serializer):
    """A lesson in a course outline; `locked` is for the requesting user."""

    id = serializers.UUIDField(source="lesson.id")
    slug = serializers.SlugField(source="lesson.slug")
    title = serializers.CharField(source="lesson.title")
    kind = serializers.ChoiceField(source="lesson.kind", choices=Lesson.Kind.choices)
    duration_seconds = serializers.IntegerField(source="lesson.duration_seconds")
    order = serializers.IntegerField(source="lesson.order")
    is_free_preview = serializers.BooleanField(source="lesson.is_free_preview")
    is_boss = serializers.BooleanField(source="lesson.is_boss")
    xp_value = serializers.IntegerField(source="lesson.xp_value")
    is_hidden = serializers.BooleanField(
        source="lesson.is_hidden",
        help_text="Hidden from learners (who never get it); only editors see true.",
    )
    locked = serializers.BooleanField(
        help_text="Closed to the requesting user, by the tier (see the course's `access`) "
        "or by the course's rules (`lock`)."
    )
    lock = serializers.SerializerMethodField()

    @extend_schema_field(StructureLockSerializer(allow_null=True))
    def get_lock(self, item: OutlineLesson) -> dict[str, Any] | None:
        return _lock_data(item.access)


@extend_schema_serializer(component_name="OutlineSection")
class OutlineSectionSerializer(serializers.Serializer):
    """A section of a course outline; `locked` and `lock` are for the requesting user."""

    id = serializers.UUIDField(source="section.id")
    title = serializers.CharField(source="section.title")
    order = serializers.IntegerField(source="section.order")
    is_hidden = serializers.BooleanField(
        source="section.is_hidden",
        help_text="Hidden from learners (who never get it); only editors see true.",
    )
    locked = serializers.BooleanField(help_text="Closed by the course's rules (`lock`).")
    lock = serializers.SerializerMethodField()
    lesson_count = serializers.IntegerField()
    duration_seconds = serializers.IntegerField()
    lessons = OutlineLessonSerializer(many=True)

    @extend_schema_field(StructureLockSerializer(allow_null=True))
    def get_lock(self, item: OutlineSection) -> dict[str, Any] | None:
        return _lock_data(item.lock)


@extend_schema_serializer(component_name="LessonHit")
class LessonHitSerializer(serializers.Serializer):
    """A lesson a search found inside a course (`catalog.search`). A locked lesson (for the
    requesting user) shows its title only: `snippet_html` is then empty."""

    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)
    section = serializers.CharField(source="section_title", help_text="The section's title.")
    locked = serializers.BooleanField()
    snippet_html = serializers.CharField(
        source="snippet",
        allow_blank=True,
        help_text="The notes around the match, HTML-escaped, matches in <mark>; empty when locked.",
    )
    url = serializers.SerializerMethodField(help_text="The lesson's web page.")

    @extend_schema_field(serializers.URLField())
    def get_url(self, hit: LessonHit) -> str:
        return _absolute(self.context.get("request"), hit.url)


# --- Operations --------------------------------------------------------------------------


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
            return _absolute(self.context.get("request"), lesson.get_absolute_url())

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


urlpatterns = [
    path("courses/", CourseListApi.as_view(), name="course-list"),
    path("courses/<slug:slug>/", CourseDetailApi.as_view(), name="course-detail"),
    path("lessons/<uuid:lesson_id>/", LessonDetailApi.as_view(), name="lesson-detail"),
]
