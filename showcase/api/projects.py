"""The showcase API (`/api/v1/projects/`, `/api/v1/me/projects/`) for apps: the public list
with its filters, a project, submitting and editing one's own, soft delete and restore, the
picture, and the tags. Thin: the selectors decide who sees what, the services every rule."""

import uuid
from collections.abc import Iterable
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Course
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.errors import ApplicationError, ErrorCode
from showcase import services
from showcase.api.serializers import LinkSerializer, ProjectSerializer, TagSerializer
from showcase.models import (
    DETAIL_MAX_LENGTH,
    LINKS_MAX,
    SUMMARY_MAX_LENGTH,
    TAGS_MAX,
    TITLE_MAX_LENGTH,
    Project,
    Tag,
)
from showcase.selectors import (
    project_filter_courses,
    project_get,
    project_get_deleted,
    projects_of_user,
    projects_public_list,
    tags_list,
    visible_course_ids,
)
from showcase.services import LinkSpec
from showcase.thumbnails import thumbnail_from_upload

TAG = "showcase"
IDEMPOTENCY_KEY_MAX = 100
# Idempotency-Key values name client ids in this namespace (uuid5), per author.
IDEMPOTENCY_NAMESPACE = uuid.UUID("0b7a3f5e-4f39-4f57-8a0e-5c1d2e6b9a41")


class IsAuthenticatedForWrites(IsAuthenticated):
    """Anyone reads public projects; only signed-in users write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in ("GET", "HEAD", "OPTIONS") or super().has_permission(request, view)


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(ErrorCode.VALIDATION_ERROR, fields={field: [message]})


def _project_data(request: Request, projects: Iterable[Project]) -> Any:
    projects = list(projects)
    context = {
        "request": request,
        "courses_shown": visible_course_ids(user=request.user, projects=projects),
    }
    return ProjectSerializer(projects, many=True, context=context).data


def _project_response(request: Request, project: Project, code: int = 200) -> Response:
    return Response(_project_data(request, [project])[0], status=code)


def _paginated(request: Request, view: APIView, queryset) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(_project_data(request, page))


class _ProjectInput(serializers.Serializer):
    """What an author sends; the services check it again (and the course and tags)."""

    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    summary = serializers.CharField(max_length=SUMMARY_MAX_LENGTH)
    detail = serializers.CharField(
        max_length=DETAIL_MAX_LENGTH, allow_blank=True, required=False, help_text="Markdown."
    )
    course = serializers.SlugField(
        allow_null=True,
        required=False,
        help_text="The slug of a course you are enrolled in (staff: any course, or null).",
    )
    tags = serializers.ListField(
        child=serializers.SlugField(max_length=50),
        max_length=TAGS_MAX,
        required=False,
        help_text="Tag slugs, from `GET /api/v1/projects/tags/`.",
    )
    links = LinkSerializer(many=True, required=False, max_length=LINKS_MAX)
    submit = serializers.BooleanField(
        required=False,
        help_text="A learner's: true (the default) sends it to review, false keeps a draft. "
        "Staff's projects are approved in the admin.",
    )

    def resolve(self) -> dict[str, Any]:
        """The validated values as the services take them: course and tags as rows, links
        as LinkSpecs; an unknown course or tag is 400 VALIDATION_ERROR on its field."""
        values = dict(self.validated_data)
        if "course" in values and values["course"] is not None:
            course = Course.objects.filter(slug=values["course"]).first()
            if course is None:
                raise _invalid("course", "There is no course with this slug.")
            values["course"] = course
        if "tags" in values:
            slugs = list(dict.fromkeys(values["tags"]))
            tags = list(Tag.objects.filter(slug__in=slugs))
            if len(tags) != len(slugs):
                found = {tag.slug for tag in tags}
                missing = ", ".join(slug for slug in slugs if slug not in found)
                raise _invalid("tags", f"There is no tag with the slug {missing}.")
            values["tags"] = tags
        if "links" in values:
            values["links"] = [LinkSpec(**link) for link in values["links"]]
        return values


def _client_id(request: Request, body_id: uuid.UUID | None) -> uuid.UUID | None:
    """The submission's client id: `client_id` in the body or the Idempotency-Key header
    (any text, named as a UUID in our namespace); both must then agree."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return body_id
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise _invalid("Idempotency-Key", f"Send 1 to {IDEMPOTENCY_KEY_MAX} printable characters.")
    from_key = uuid.uuid5(IDEMPOTENCY_NAMESPACE, key)
    if body_id is not None and body_id != from_key:
        raise _invalid("client_id", "Send either client_id or an Idempotency-Key, not two ids.")
    return from_key


_ERRORS_DOC = (
    "Errors: 400 `VALIDATION_ERROR` with `fields` (an unknown `course` or `tags` slug, a "
    "course you are not enrolled in, a link that is not http(s): `links.<n>.url`); 401 "
    "signed out; 404 `PROJECT_NOT_FOUND`; 403 `PROJECT_NOT_YOURS` for someone else's "
    "project; 409 `PROJECT_LOCKED` for your approved project (staff change it)."
)


class ProjectListApi(APIView):
    """Approved projects (search, course and tag filters), and submitting one."""

    permission_classes = [IsAuthenticatedForWrites]
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=100,
            help_text="Words to find in the title, summary or detail (all of them).",
        )
        course = serializers.SlugField(
            required=False, allow_blank=True, help_text="A course's slug: its projects."
        )
        tag = serializers.SlugField(
            required=False, allow_blank=True, max_length=50, help_text="A tag's slug."
        )

    @extend_schema_serializer(component_name="ProjectCreate")
    class InputSerializer(_ProjectInput):
        client_id = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="Your id for this submission: sending it again returns the first project "
            "(200) instead of adding one. Or send an `Idempotency-Key` header.",
        )

    @extend_schema(
        operation_id="projects_list",
        tags=[TAG],
        summary="List approved projects",
        parameters=[FilterSerializer],
        description=(
            "Public projects, the most recently published first. An unknown `course` (one "
            "with no public projects) or `tag` is 400 `VALIDATION_ERROR`."
        ),
        responses={200: ProjectSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        course = tag = None
        if values.get("course"):
            course = project_filter_courses().filter(slug=values["course"]).first()
            if course is None:
                raise _invalid("course", "No course with public projects has this slug.")
        if values.get("tag"):
            tag = Tag.objects.filter(slug=values["tag"]).first()
            if tag is None:
                raise _invalid("tag", "There is no tag with this slug.")
        projects = projects_public_list(search=values.get("q", ""), course=course, tag=tag)
        return _paginated(request, self, projects)

    @extend_schema(
        operation_id="projects_create",
        tags=[TAG],
        summary="Submit a project",
        description=(
            "A learner's project for a course they are enrolled in, sent to staff for review "
            "(`submit: false`: a draft). Staff's projects start as drafts (approve them in the "
            "admin). 201 for a new project, 200 with the first one when its `client_id` (or "
            "`Idempotency-Key`) was already used. The picture is sent apart: "
            "`PUT /api/v1/projects/<slug>/thumbnail/`. " + _ERRORS_DOC
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description=f"1 to {IDEMPOTENCY_KEY_MAX} printable characters: a retried "
                "submission with the same key returns the first project.",
            )
        ],
        request=InputSerializer,
        responses={
            201: ProjectSerializer,
            200: ProjectSerializer,
            **error_responses(400, 401, 403),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_id = _client_id(request, serializer.validated_data.get("client_id"))
        values = serializer.resolve()
        values.pop("client_id", None)
        project, created = services.project_create(
            author=request.user, client_id=client_id, **values
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _project_response(request, project, code)


class ProjectDetailApi(APIView):
    """A project; its author edits it while it is not approved, and deletes it (soft)."""

    permission_classes = [IsAuthenticatedForWrites]

    @extend_schema_serializer(component_name="ProjectUpdate")
    class InputSerializer(_ProjectInput):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.required = False

    @extend_schema(
        operation_id="projects_retrieve",
        tags=[TAG],
        summary="Read a project",
        description=(
            "Approved projects are public; one waiting for review, a draft or a rejected one "
            "only for its author and staff (404 `PROJECT_NOT_FOUND` for anyone else). A "
            "deleted project is 404."
        ),
        responses={200: ProjectSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return _project_response(request, project_get(user=request.user, slug=slug))

    @extend_schema(
        operation_id="projects_partial_update",
        tags=[TAG],
        summary="Edit my project",
        description="Only the fields sent change; `submit` as on submitting. " + _ERRORS_DOC,
        request=InputSerializer,
        responses={200: ProjectSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, slug: str) -> Response:
        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(
            actor=request.user, project=project, **serializer.resolve()
        )
        return _project_response(request, project_get(user=request.user, slug=project.slug))

    @extend_schema(
        operation_id="projects_destroy",
        tags=[TAG],
        summary="Delete my project (restorable)",
        description=(
            "A soft delete: the project leaves every page; its author restores it within "
            "LMS_SHOWCASE_RESTORE_DAYS (`POST .../restore/`), staff at any time. 403 "
            "`PROJECT_NOT_YOURS` for someone else's, 404 for one you cannot see."
        ),
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, slug: str) -> Response:
        project = project_get(user=request.user, slug=slug)
        services.project_delete(actor=request.user, project=project)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectRestoreApi(APIView):
    """Undo a delete: its author within the restore window, staff at any time."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="projects_restore",
        tags=[TAG],
        summary="Restore my deleted project",
        description=(
            "It comes back with the status it had. Restoring a project that is not deleted "
            "changes nothing (200). 404 `PROJECT_NOT_FOUND` unless it is yours (or you are "
            "staff); 410 `PROJECT_RESTORE_EXPIRED` once `restorable_until` has passed."
        ),
        request=None,
        responses={200: ProjectSerializer, **error_responses(401, 404, 410)},
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_get_deleted(user=request.user, slug=slug)
        project = services.project_restore(actor=request.user, project=project)
        return _project_response(request, project_get(user=request.user, slug=project.slug))


class ProjectThumbnailApi(APIView):
    """The project's picture: checked and re-encoded as WebP, as on the site."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="ProjectThumbnailUpload")
    class InputSerializer(serializers.Serializer):
        thumbnail = serializers.FileField(
            help_text="JPEG, PNG or WebP, at least 320×180 pixels, up to "
            "LMS_THUMBNAIL_MAX_BYTES; stored as WebP within 1280×720."
        )

    @extend_schema(
        operation_id="projects_thumbnail_update",
        tags=[TAG],
        summary="Set my project's picture",
        description=(
            "A `multipart/form-data` body with the file in `thumbnail`. A file that is not a "
            "picture, too small or too large is 400 `VALIDATION_ERROR` with "
            "`fields.thumbnail`, and the previous picture stays. " + _ERRORS_DOC
        ),
        request={"multipart/form-data": InputSerializer},
        responses={200: ProjectSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, slug: str) -> Response:
        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thumbnail = thumbnail_from_upload(serializer.validated_data["thumbnail"])
        services.project_thumbnail_set(actor=request.user, project=project, thumbnail=thumbnail)
        return _project_response(request, project_get(user=request.user, slug=slug))

    @extend_schema(
        operation_id="projects_thumbnail_destroy",
        tags=[TAG],
        summary="Remove my project's picture",
        description=_ERRORS_DOC,
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, slug: str) -> Response:
        project = project_get(user=request.user, slug=slug)
        services.project_thumbnail_set(actor=request.user, project=project, thumbnail=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyProjectListApi(APIView):
    """Everything I submitted (or authored), every status, deleted ones too."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="me_projects_list",
        tags=[TAG],
        summary="List my projects",
        description=(
            "Newest first, with `status` and staff's `review_note`; deleted ones have "
            "`deleted_at` and `restorable_until`."
        ),
        responses={200: ProjectSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return _paginated(request, self, projects_of_user(user=request.user))


class TagListApi(APIView):
    """The tags projects use (the list's `tag` filter, a submission's `tags`)."""

    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="projects_tags_list",
        tags=[TAG],
        summary="List the showcase's tags",
        responses={200: TagSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tags_list(), request, view=self)
        return paginator.get_paginated_response(TagSerializer(page, many=True).data)


urlpatterns = [
    path("projects/", ProjectListApi.as_view(), name="projects"),
    # Before <slug>: "tags" is a reserved project slug.
    path("projects/tags/", TagListApi.as_view(), name="project-tags"),
    path("projects/<slug:slug>/", ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<slug:slug>/restore/", ProjectRestoreApi.as_view(), name="project-restore"),
    path(
        "projects/<slug:slug>/thumbnail/", ProjectThumbnailApi.as_view(), name="project-thumbnail"
    ),
    path("me/projects/", MyProjectListApi.as_view(), name="my-projects"),
]
