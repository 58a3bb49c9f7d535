"""Learning paths in the API (`/api/v1/paths/`), joined into `progress.api`.

Read only: the published paths, and one path with its courses in order and, for a signed-in
learner, their progress in each, the next course and their path certificate. Draft paths are
PATH_NOT_FOUND except for staff.
"""

from typing import Any

from django.urls import path as url
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import CourseFieldsSerializer, MarkdownHtmlField
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from progress.paths.models import LearningPath, PathCertificate
from progress.paths.selectors import (
    PathCourse,
    PathProgress,
    PathSummary,
    path_get,
    path_progress_get,
    paths_list,
)

TAG = "learning paths"


def _absolute(request: Request | None, location: str) -> str:
    return request.build_absolute_uri(location) if request is not None else location


@extend_schema_serializer(component_name="PathCertificate")
class PathCertificateSerializer(serializers.Serializer):
    """The requesting learner's certificate for the path: public by its `url` once it has a
    name (`name_pending` until the owner gives one on that page)."""

    code = serializers.CharField()
    issued_at = serializers.DateTimeField()
    learner_name = serializers.CharField(help_text="The name printed on it; empty while pending.")
    name_pending = serializers.BooleanField()
    course_titles = serializers.ListField(
        child=serializers.CharField(), help_text="The path's courses when it was issued."
    )
    url = serializers.SerializerMethodField(help_text="Its public verification page.")

    @extend_schema_field(serializers.URLField())
    def get_url(self, certificate: PathCertificate) -> str:
        return _absolute(self.context.get("request"), certificate.get_absolute_url())


class PathFieldsSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The path's web page.")

    class Meta:
        model = LearningPath
        fields = ["slug", "title", "summary", "status", "url"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, path: LearningPath) -> str:
        return _absolute(self.context.get("request"), path.get_absolute_url())


@extend_schema_serializer(component_name="PathCourse")
class PathCourseSerializer(serializers.Serializer):
    """A course of the path, in order; the progress fields are zero/false for visitors."""

    position = serializers.IntegerField(help_text="1 for the first course of the path.")
    course = CourseFieldsSerializer()
    lesson_count = serializers.IntegerField(
        help_text="Published, required lessons that are not hidden (what completion counts)."
    )
    completed_lesson_count = serializers.IntegerField(source="done_count")
    percent = serializers.IntegerField()
    started = serializers.BooleanField()
    completed = serializers.BooleanField()


class PathListApi(APIView):
    """Published learning paths, by title."""

    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="PathListItem")
    class OutputSerializer(serializers.Serializer):
        slug = serializers.SlugField(source="path.slug")
        title = serializers.CharField(source="path.title")
        summary = serializers.CharField(source="path.summary")
        url = serializers.SerializerMethodField(help_text="The path's web page.")
        course_count = serializers.IntegerField()
        completed_course_count = serializers.IntegerField(
            source="completed_count", help_text="For the requesting learner; 0 for visitors."
        )
        certificate = PathCertificateSerializer(allow_null=True)

        @extend_schema_field(serializers.URLField())
        def get_url(self, item: PathSummary) -> str:
            return _absolute(self.context.get("request"), item.path.get_absolute_url())

    @extend_schema(
        operation_id="paths_list",
        tags=[TAG],
        summary="List published learning paths",
        description=(
            "Each with how many of its courses the requesting learner completed and their "
            "path certificate (null until every course is completed)."
        ),
        responses={200: OutputSerializer(many=True), **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(paths_list(user=request.user), request, view=self)
        data = self.OutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class PathDetailApi(APIView):
    """One learning path with its courses in order and the learner's progress."""

    @extend_schema_serializer(component_name="PathDetail")
    class OutputSerializer(PathFieldsSerializer):
        description_html = MarkdownHtmlField(source="description")
        courses = serializers.SerializerMethodField()
        course_count = serializers.SerializerMethodField()
        completed_course_count = serializers.SerializerMethodField()
        started_course_count = serializers.SerializerMethodField()
        percent = serializers.SerializerMethodField(
            help_text="Across the path's courses, by their countable lessons."
        )
        next_course = serializers.SerializerMethodField(
            help_text="The first course not yet completed, in path order; null when all are."
        )
        certificate = serializers.SerializerMethodField(
            help_text="The requesting learner's path certificate, or null."
        )

        class Meta(PathFieldsSerializer.Meta):
            fields = [
                *PathFieldsSerializer.Meta.fields,
                "description_html",
                "course_count",
                "completed_course_count",
                "started_course_count",
                "percent",
                "next_course",
                "certificate",
                "courses",
            ]
            read_only_fields = fields

        @property
        def progress(self) -> PathProgress:
            return self.context["progress"]

        @extend_schema_field(PathCourseSerializer(many=True))
        def get_courses(self, path: LearningPath) -> list[dict[str, Any]]:
            return PathCourseSerializer(self.progress.courses, many=True, context=self.context).data

        def get_course_count(self, path: LearningPath) -> int:
            return self.progress.course_count

        def get_completed_course_count(self, path: LearningPath) -> int:
            return self.progress.completed_count

        def get_started_course_count(self, path: LearningPath) -> int:
            return self.progress.started_count

        def get_percent(self, path: LearningPath) -> int:
            return self.progress.percent

        @extend_schema_field(PathCourseSerializer(allow_null=True))
        def get_next_course(self, path: LearningPath) -> dict[str, Any] | None:
            item: PathCourse | None = self.progress.next_course
            return PathCourseSerializer(item, context=self.context).data if item else None

        @extend_schema_field(PathCertificateSerializer(allow_null=True))
        def get_certificate(self, path: LearningPath) -> dict[str, Any] | None:
            certificate = self.progress.certificate
            if certificate is None:
                return None
            return PathCertificateSerializer(certificate, context=self.context).data

    @extend_schema(
        operation_id="paths_retrieve",
        tags=[TAG],
        summary="Get a learning path with the learner's progress",
        description=(
            "Courses in path order, each with the requesting learner's progress (hidden "
            "lessons never count); draft courses are left out. 404 `PATH_NOT_FOUND` for an "
            "unknown path, and for a draft one unless the requester is staff."
        ),
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        path = path_get(user=request.user, slug=slug)
        progress = path_progress_get(user=request.user, path=path)
        context = {"request": request, "progress": progress}
        return Response(self.OutputSerializer(path, context=context).data)


urlpatterns = [
    url("paths/", PathListApi.as_view(), name="path-list"),
    url("paths/<slug:slug>/", PathDetailApi.as_view(), name="path-detail"),
]
