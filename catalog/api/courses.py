"""`GET /api/v1/courses/` and `GET /api/v1/courses/<slug>/`: the catalog and one course."""

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.outline import CourseHeadSerializer, course_detail_data
from catalog.api.serializers import (
    TAG,
    AccessSerializer,
    CourseFieldsSerializer,
    LessonHitSerializer,
    OutlineSectionSerializer,
    absolute_url,
)
from catalog.models import Course
from catalog.outline import catalog_version_get, outline_compiled_get
from catalog.search import LESSONS_PER_COURSE, lesson_hits_for
from catalog.selectors import course_get, course_list
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.cache import CACHE_ERRORS

T = TypeVar("T")


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
        course_type = filters.validated_data.get("type") or None
        difficulty = filters.validated_data.get("difficulty") or None
        courses = course_list(
            search=search, course_type=course_type, difficulty=difficulty, user=request.user
        )
        paginator = self.pagination_class()
        if not search.strip():
            key = _cache_call(
                _list_page_key, request, {"course_type": course_type, "difficulty": difficulty}
            )
            rows = _listed_rows(paginator, request, courses=courses, key=key, view=self)
            return paginator.get_paginated_response([_row_shown(request, row) for row in rows])
        page = list(paginator.paginate_queryset(courses, request, view=self))
        # The lessons found in this page's courses: one query for the page.
        hits = lesson_hits_for(courses=page, user=request.user, text=search)
        for course in page:
            course.search_hits = hits.get(course.pk)
        data = self.OutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


# --- The course list from cached rows ------------------------------------------------------
# Without `q` the list is the same for everyone: its pages are cached as the rows the
# serializer writes, keyed by the catalog's version (bumped by every change of any course,
# section or lesson: `catalog.outline.versions`), the filters and the page. What depends on
# the request is filled in per request: the absolute URLs (the host asked) and the
# thumbnail's URL (a presigned S3 URL expires). A search stays live: its hits depend on who
# asks (a locked lesson matches on its title only) and its text is the client's, so caching
# it would spend the cache on keys hardly ever asked twice.

_LIST_KEY = "catalog:api:courses:{version}:{filters}"
# Long: the key changes with the catalog, so an entry is never stale, only unused.
_LIST_TIMEOUT = 24 * 3600
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def _list_page_key(request: Request, filters: dict[str, str | None]) -> str:
    page = request.query_params.get(PageNumberPagination.page_query_param, "1")
    size = request.query_params.get(PageNumberPagination.page_size_query_param, "")
    # Numbers as numbers ("01" is page 1); anything else is refused by the paginator below.
    page, size = (str(int(raw)) if _WHOLE_NUMBER.fullmatch(raw) else "-" for raw in (page, size))
    asked = ":".join(value or "" for value in (filters["course_type"], filters["difficulty"]))
    return _LIST_KEY.format(version=catalog_version_get(), filters=f"{asked}:{page}:{size}")


class _CachedPage:
    """One cached page of the list, sliced by Django's paginator as it slices the queryset:
    the list's count and the rows from `offset`."""

    def __init__(self, count: int, offset: int, rows: list[dict[str, Any]]) -> None:
        self._count, self._offset, self._rows = count, offset, rows

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return self._rows[index.start - self._offset : index.stop - self._offset]


def _listed_rows(
    paginator: PageNumberPagination,
    request: Request,
    *,
    courses: QuerySet[Course],
    key: str | None,
    view: APIView,
) -> list[dict[str, Any]]:
    """The page's rows as the serializer writes them without a request: from the cache, or
    read (the count and the page: two queries) and cached. The paginator checks the page
    asked for either way, with the same errors. `key` None: no cache to use."""
    cached = _cache_call(cache.get, key) if key is not None else None
    if cached is not None:
        return list(paginator.paginate_queryset(_CachedPage(*cached), request, view=view))
    page = list(paginator.paginate_queryset(courses, request, view=view))
    rows = [dict(row) for row in CourseListApi.OutputSerializer(page, many=True).data]
    for row, course in zip(rows, page, strict=True):
        row["thumbnail_url"] = course.thumbnail.name or None
    if key is not None:
        django_page = paginator.page
        offset = (django_page.number - 1) * django_page.paginator.per_page
        _cache_call(cache.set, key, (django_page.paginator.count, offset, rows), _LIST_TIMEOUT)
    return rows


def _cache_call(method: Callable[..., T], *args: Any) -> T | None:
    """A cache call that answers None when the cache fails: the fail-open backend never
    raises, but a deployment with Django's own Redis backend still gets its list, read live."""
    try:
        return method(*args)
    except CACHE_ERRORS:
        return None


def _row_shown(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    """A cached row with this request's URLs (the same fields, in the same order)."""
    thumbnail = row["thumbnail_url"]  # the file's name: its URL is the storage's to give
    storage = Course._meta.get_field("thumbnail").storage
    return {
        **row,
        "thumbnail_url": absolute_url(request, storage.url(thumbnail)) if thumbnail else None,
        "url": absolute_url(request, row["url"]),
    }


class CourseDetailApi(APIView):
    """One course with its outline, as the requesting user may see it."""

    @extend_schema_serializer(component_name="CourseDetail")
    class OutputSerializer(CourseHeadSerializer):
        """A course with its outline; `access` and `locked` are for the requesting user."""

        # The schema of the response, which the view writes from the compiled outline
        # (`catalog.api.outline.course_detail_data`) with the same fields in the same order.

        access = serializers.SerializerMethodField()
        lesson_count = serializers.SerializerMethodField()
        duration_seconds = serializers.SerializerMethodField()
        sections = serializers.SerializerMethodField()

        class Meta(CourseHeadSerializer.Meta):
            fields = [
                *CourseHeadSerializer.Meta.fields,
                "access",
                "lesson_count",
                "duration_seconds",
                "sections",
            ]
            read_only_fields = fields

        @extend_schema_field(AccessSerializer)
        def get_access(self, course: Course) -> dict[str, Any]:
            raise NotImplementedError  # the schema only

        def get_lesson_count(self, course: Course) -> int:
            raise NotImplementedError

        def get_duration_seconds(self, course: Course) -> int:
            raise NotImplementedError

        @extend_schema_field(OutlineSectionSerializer(many=True))
        def get_sections(self, course: Course) -> list[dict[str, Any]]:
            raise NotImplementedError

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
        compiled = outline_compiled_get(course=course)
        return Response(course_detail_data(request=request, course=course, compiled=compiled))
