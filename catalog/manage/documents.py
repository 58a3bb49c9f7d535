"""Course documents in the authoring API: import, export, bulk create of sections and lessons.

The services (`catalog.documents`) read and check the bodies themselves, so every error names
the failing item by its path in the request (`course.sections[2].lessons[0].slug`); the
serializers below describe the bodies for the schema and shape the answers.
"""

from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.documents import (
    BulkResult,
    ImportMode,
    ImportResult,
    course_document_export,
    course_document_import,
    lessons_bulk_create,
    sections_bulk_create,
)
from catalog.documents.format import (
    CourseDocumentSerializer,
    LessonDocumentSerializer,
    SectionDocumentSerializer,
    WarningSerializer,
)
from catalog.manage.permissions import (
    IsAuthor,
    author_permission_require,
    course_for_author,
    section_for_author,
)
from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from lms.api.schema import error_responses

TAG = "manage"
_LIMIT = (
    "At most `LMS_COURSE_DOCUMENT_MAX_LESSONS` sections and as many lessons "
    f"({settings.LMS_COURSE_DOCUMENT_MAX_LESSONS} here), else 413 `COURSE_DOCUMENT_TOO_LARGE`; "
    "the body is limited like every API body (`LMS_API_MAX_BODY_BYTES`, 413 "
    "`PAYLOAD_TOO_LARGE`)."
)
_PATHS = (
    "400 `VALIDATION_ERROR`: `fields` is keyed by the failing item's path in the body "
    "(e.g. `{path}`), and nothing is written."
)


@extend_schema_serializer(component_name="CourseDocumentCounts")
class CountsSerializer(serializers.Serializer):
    courses = serializers.IntegerField()
    sections = serializers.IntegerField()
    lessons = serializers.IntegerField()
    quizzes = serializers.IntegerField()
    questions = serializers.IntegerField()
    choices = serializers.IntegerField()


def _counts(tally: Any) -> dict[str, int]:
    return tally.as_dict()


@extend_schema_serializer(component_name="ManagedCourseRef")
class CourseRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["id", "client_id", "slug", "title", "status"]
        read_only_fields = fields


class CourseImportApi(APIView):
    """Create a course from a document, or update the course it names."""

    permission_classes = [IsAuthor]

    class FilterSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(
            choices=ImportMode.choices,
            required=False,
            default=ImportMode.MERGE,
            help_text=(
                "`merge` (default): sections and lessons of the course the document does not "
                "name are kept, after the named ones. `replace`: they are deleted (staff "
                "only), and the import is refused (409 `COURSE_DOCUMENT_DELETES_LEARNER_DATA`) "
                "when a lesson to delete has learners' progress, attempts or discussions."
            ),
        )

    @extend_schema_serializer(component_name="CourseImportResult")
    class OutputSerializer(serializers.Serializer):
        course = CourseRefSerializer()
        created = serializers.SerializerMethodField()
        updated = serializers.SerializerMethodField()
        unchanged = serializers.SerializerMethodField()
        deleted = serializers.SerializerMethodField(help_text="Mode `replace` only.")
        kept = serializers.SerializerMethodField(
            help_text="Sections and lessons the document does not name, kept (mode `merge`)."
        )
        warnings = WarningSerializer(
            many=True, help_text="Videos and attachments this site does not have: left out."
        )

        @extend_schema_field(CountsSerializer)
        def get_created(self, result: ImportResult) -> dict[str, int]:
            return _counts(result.created)

        @extend_schema_field(CountsSerializer)
        def get_updated(self, result: ImportResult) -> dict[str, int]:
            return _counts(result.updated)

        @extend_schema_field(CountsSerializer)
        def get_unchanged(self, result: ImportResult) -> dict[str, int]:
            return _counts(result.unchanged)

        @extend_schema_field(CountsSerializer)
        def get_deleted(self, result: ImportResult) -> dict[str, int]:
            return _counts(result.deleted)

        @extend_schema_field(CountsSerializer)
        def get_kept(self, result: ImportResult) -> dict[str, int]:
            return _counts(result.kept)

    @extend_schema(
        operation_id="manage_course_import",
        tags=[TAG],
        summary="Import a course document",
        description=(
            "The body is a course document (what `GET .../export/` answers). Its course is "
            "the one with the document's `client_id`, or whose id it is: that course is "
            "updated (200), else a new draft course is created (201; an instructor's new "
            "course is theirs). Sections and lessons are matched the same way within the "
            "course, questions within their quiz: importing the same document twice changes "
            "nothing the second time (all `unchanged`). Videos and attachments are linked "
            "when this site has them (`warnings` lists the others). Status, instructors, join "
            "code and enrollments are not part of a document. "
            f"{_PATHS.format(path='course.sections[2].lessons[0].slug')} "
            "404 `COURSE_NOT_FOUND` when the document names a course the author cannot edit; "
            "403 `PERMISSION_DENIED` for mode `replace` without the right to delete; 409 "
            "`COURSE_DOCUMENT_DELETES_LEARNER_DATA` (replace), or `COURSE_DOCUMENT_CONFLICT` "
            f"when another write got there first (send it again). {_LIMIT}"
        ),
        parameters=[FilterSerializer],
        request=CourseDocumentSerializer,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 413),
        },
    )
    def post(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        result = course_document_import(
            document=request.data, actor=request.user, mode=filters.validated_data["mode"]
        )
        code = status.HTTP_201_CREATED if result.course_created else status.HTTP_200_OK
        return Response(self.OutputSerializer(result).data, status=code)


class CourseExportApi(APIView):
    """The course as a document, to import here again or in another school."""

    permission_classes = [IsAuthor]

    @extend_schema(
        operation_id="manage_course_export",
        tags=[TAG],
        summary="Export a course as a document",
        description=(
            "Every section and lesson, unpublished ones included, quizzes with their answers. "
            "`client_id` is the row's client id, or its id here. Audited (`catalog.exported`). "
            "404 `COURSE_NOT_FOUND` for a course the author cannot edit."
        ),
        responses={200: CourseDocumentSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, course_id: UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        author_permission_require(user=request.user, action="view", model=Course)
        return Response(course_document_export(course=course, actor=request.user))


@extend_schema_serializer(component_name="BulkLesson")
class BulkLessonSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="row.id")
    client_id = serializers.CharField(source="row.client_id")
    slug = serializers.SlugField(source="row.slug")
    title = serializers.CharField(source="row.title")
    kind = serializers.ChoiceField(source="row.kind", choices=Lesson.Kind.choices)
    order = serializers.IntegerField(source="row.order")
    created = serializers.BooleanField(
        help_text="False: a lesson with this client id was there already (left as it is)."
    )


@extend_schema_serializer(component_name="BulkSection")
class BulkSectionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="row.id")
    client_id = serializers.CharField(source="row.client_id")
    title = serializers.CharField(source="row.title")
    order = serializers.IntegerField(source="row.order")
    created = serializers.BooleanField(
        help_text="False: a section with this client id was there already (left as it is)."
    )
    lessons = BulkLessonSerializer(many=True)


def _bulk_response(result: BulkResult, serializer: type[serializers.Serializer]) -> Response:
    code = status.HTTP_201_CREATED if result.created_any else status.HTTP_200_OK
    return Response(serializer(result).data, status=code)


def _permissions(request: Request, *models: type) -> None:
    for model in models:
        author_permission_require(user=request.user, action="add", model=model)


class SectionsBulkCreateApi(APIView):
    """Create many sections, with their lessons, at the end of a course."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="SectionsBulkCreate")
    class InputSerializer(serializers.Serializer):
        sections = SectionDocumentSerializer(many=True)

    @extend_schema_serializer(component_name="SectionsBulkCreated")
    class OutputSerializer(serializers.Serializer):
        sections = BulkSectionSerializer(many=True, source="items")
        created = serializers.SerializerMethodField()
        warnings = WarningSerializer(many=True)

        @extend_schema_field(CountsSerializer)
        def get_created(self, result: BulkResult) -> dict[str, int]:
            return _counts(result.created)

    @extend_schema(
        operation_id="manage_sections_bulk_create",
        tags=[TAG],
        summary="Create sections with their lessons",
        description=(
            "Sections in the course document's shape, added after the course's own, in one "
            "transaction. Retryable: an item whose `client_id` the course has already is "
            "answered as it is (`created: false`), so a retried request creates nothing "
            "twice; 201 when this request created something, else 200. "
            f"{_PATHS.format(path='sections[2].lessons[0].slug')} "
            f"404 `COURSE_NOT_FOUND` for a course the author cannot edit. {_LIMIT}"
        ),
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 413),
        },
    )
    def post(self, request: Request, course_id: UUID) -> Response:
        course = course_for_author(user=request.user, course_id=course_id)
        _permissions(request, Section, Lesson, Quiz, Question, Choice)
        items = request.data.get("sections") if isinstance(request.data, dict) else None
        result = sections_bulk_create(course=course, items=items, actor=request.user)
        return _bulk_response(result, self.OutputSerializer)


class LessonsBulkCreateApi(APIView):
    """Create many lessons at the end of a section."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="LessonsBulkCreate")
    class InputSerializer(serializers.Serializer):
        lessons = LessonDocumentSerializer(many=True)

    @extend_schema_serializer(component_name="LessonsBulkCreated")
    class OutputSerializer(serializers.Serializer):
        lessons = BulkLessonSerializer(many=True, source="items")
        created = serializers.SerializerMethodField()
        warnings = WarningSerializer(many=True)

        @extend_schema_field(CountsSerializer)
        def get_created(self, result: BulkResult) -> dict[str, int]:
            return _counts(result.created)

    @extend_schema(
        operation_id="manage_lessons_bulk_create",
        tags=[TAG],
        summary="Create lessons in a section",
        description=(
            "Lessons in the course document's shape (quizzes included), added after the "
            "section's own, in one transaction. Retryable like the sections' bulk create: "
            "201 when this request created something, else 200. "
            f"{_PATHS.format(path='lessons[0].slug')} A `client_id` of a lesson in another "
            "section of the course is an error too. 404 `SECTION_NOT_FOUND` for a section "
            f"the author cannot edit. {_LIMIT}"
        ),
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 413),
        },
    )
    def post(self, request: Request, section_id: UUID) -> Response:
        section = section_for_author(user=request.user, section_id=section_id)
        _permissions(request, Lesson, Quiz, Question, Choice)
        items = request.data.get("lessons") if isinstance(request.data, dict) else None
        result = lessons_bulk_create(section=section, items=items, actor=request.user)
        return _bulk_response(result, self.OutputSerializer)


urlpatterns = [
    path("courses/import/", CourseImportApi.as_view(), name="course-import"),
    path("courses/<uuid:course_id>/export/", CourseExportApi.as_view(), name="course-export"),
    path(
        "courses/<uuid:course_id>/sections/bulk/",
        SectionsBulkCreateApi.as_view(),
        name="sections-bulk-create",
    ),
    path(
        "sections/<uuid:section_id>/lessons/bulk/",
        LessonsBulkCreateApi.as_view(),
        name="lessons-bulk-create",
    ),
]
