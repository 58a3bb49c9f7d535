"""The apps' update check and bundle downloads under /api/v1/ (tag "updates").

`POST /api/v1/updates/check/` answers what an app should download (`catalog.bundles.selectors`);
`GET /api/v1/bundles/<id>/?token=` serves one bundle's manifest through the signed URL the
check gave (`catalog.bundles.downloads`). Both thin: the rules are in those modules.
"""

import uuid
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.bundles.downloads import bundle_for_download
from catalog.bundles.manifest import canonical_json
from catalog.bundles.selectors import (
    SectionStatus,
    SectionUpdate,
    app_version_check,
    updates_check,
)
from catalog.models import Lesson, Question, Quiz
from lms.api.schema import ErrorEnvelopeSerializer, error_responses

TAG = "updates"

_VERSION = r"^[0-9]{1,6}(\.[0-9]{1,6}){0,3}([-+][0-9A-Za-z.-]{1,40})?$"
_SHA256 = r"^[0-9a-f]{64}$"


# --- The update check -------------------------------------------------------------------------


@extend_schema_serializer(component_name="UpdateCheckApp")
class AppSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$",
        help_text="The app, as `LMS_APP_MIN_VERSIONS` names it: `ios`, `android`, `desktop`.",
    )
    version = serializers.RegexField(
        _VERSION,
        help_text="Its version, dotted numbers (`2.4.1`, `2.5.0-beta.1` counts as `2.5.0`).",
    )


@extend_schema_serializer(component_name="UpdateCheckHeldBundle")
class HeldBundleSerializer(serializers.Serializer):
    section = serializers.UUIDField(help_text="The section's id (`section.id` of the manifest).")
    version = serializers.RegexField(_SHA256, help_text="The version the app holds.")


@extend_schema_serializer(component_name="SignedUrl")
class SignedUrlSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="A signed GET URL; do not store it.")
    expires_at = serializers.DateTimeField(help_text="When the URL stops working.")


@extend_schema_serializer(component_name="UpdateAttachment")
class AttachmentUrlSerializer(serializers.Serializer):
    lesson = serializers.UUIDField(source="lesson_id")
    file = serializers.UUIDField(source="file_id", help_text="`attachments[].id` in the manifest.")
    url = serializers.URLField(
        allow_null=True, help_text="A signed GET URL; null when this server keeps no files."
    )
    expires_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="UpdateVideoDownload")
class VideoDownloadSerializer(serializers.Serializer):
    lesson = serializers.UUIDField(source="lesson_id")
    video = serializers.UUIDField(source="video_id", help_text="`video.id` in the manifest.")
    name = serializers.CharField(
        source="download.name", help_text="`highest.mp4`, `720p.mp4`, `audio.m4a`, `file.mp4`."
    )
    url = serializers.URLField(source="download.url")
    content_type = serializers.CharField(source="download.content_type")
    size_bytes = serializers.IntegerField(source="download.size_bytes", allow_null=True)
    width = serializers.IntegerField(source="download.width", allow_null=True)
    height = serializers.IntegerField(source="download.height", allow_null=True)
    expires_at = serializers.DateTimeField(
        source="download.expires_at", allow_null=True, help_text="Null: a URL that stays valid."
    )


@extend_schema_serializer(component_name="UpdateSection")
class SectionUpdateSerializer(serializers.Serializer):
    section = serializers.UUIDField(source="section_id")
    course = serializers.UUIDField(
        source="course_id", allow_null=True, help_text="Null for `removed`."
    )
    status = serializers.ChoiceField(
        choices=[(status.value, status.value) for status in SectionStatus],
        help_text=(
            "`current` (nothing to do), `update` and `new` (download the manifest and files), "
            "`removed` and `locked` (delete it from the device)."
        ),
    )
    version = serializers.CharField(
        allow_null=True, help_text="The current version; null for `removed` and `locked`."
    )
    size = serializers.IntegerField(
        allow_null=True, help_text="Bytes of the manifest and its attachments (videos apart)."
    )
    manifest = serializers.SerializerMethodField(
        help_text="`update` and `new` only: the manifest's download."
    )
    attachments = AttachmentUrlSerializer(many=True)
    videos = VideoDownloadSerializer(
        many=True, help_text="Only when `offline_video` is true, for each lesson's video."
    )

    @extend_schema_field(SignedUrlSerializer(allow_null=True))
    def get_manifest(self, update: SectionUpdate) -> dict[str, Any] | None:
        if update.manifest is None:
            return None
        request = self.context["request"]
        url = {"url": request.build_absolute_uri(update.manifest.url)}
        return SignedUrlSerializer({**url, "expires_at": update.manifest.expires_at}).data


class UpdatesCheckApi(APIView):
    """What an app should download to keep its offline courses up to date."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="UpdateCheckRequest")
    class InputSerializer(serializers.Serializer):
        app = AppSerializer()
        bundles = HeldBundleSerializer(
            many=True,
            required=False,
            help_text=(
                "The sections the app holds offline and their versions, each section once; at "
                f"most `LMS_BUNDLE_CHECK_MAX_SECTIONS` ({settings.LMS_BUNDLE_CHECK_MAX_SECTIONS} "
                "here)."
            ),
        )
        courses = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            help_text=(
                "Courses to hold offline (their sections not held yet come back `new`); at most "
                f"`LMS_BUNDLE_CHECK_MAX_COURSES` ({settings.LMS_BUNDLE_CHECK_MAX_COURSES} here)."
            ),
        )

        def to_internal_value(self, data: Any) -> dict[str, Any]:
            # Refuse an oversized check before validating each of its items.
            if isinstance(data, dict):
                errors = {}
                for name, limit in (
                    ("bundles", settings.LMS_BUNDLE_CHECK_MAX_SECTIONS),
                    ("courses", settings.LMS_BUNDLE_CHECK_MAX_COURSES),
                ):
                    items = data.get(name)
                    if isinstance(items, list) and len(items) > limit:
                        errors[name] = [f"Send at most {limit} at once."]
                if errors:
                    raise serializers.ValidationError(errors)
            return super().to_internal_value(data)

        def validate_bundles(self, bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
            sections = [bundle["section"] for bundle in bundles]
            if len(set(sections)) != len(sections):
                raise serializers.ValidationError("Name each section once.")
            return bundles

    @extend_schema_serializer(component_name="UpdateCheck")
    class OutputSerializer(serializers.Serializer):
        app = serializers.SerializerMethodField()
        offline_video = serializers.BooleanField(
            help_text="Whether this learner's plan includes video downloads (staff: always)."
        )
        missing_courses = serializers.ListField(
            child=serializers.UUIDField(),
            help_text="Courses asked for that are not (or no longer) available.",
        )
        sections = SectionUpdateSerializer(many=True)

        @extend_schema_serializer(component_name="UpdateCheckAppAnswer")
        class AppAnswerSerializer(serializers.Serializer):
            name = serializers.CharField()
            version = serializers.CharField()
            minimum_version = serializers.CharField(
                allow_null=True, help_text="The oldest version served; null: no minimum."
            )

        def get_app(self, check: Any) -> dict[str, Any]:
            return self.AppAnswerSerializer(check.app).data

    @extend_schema(
        operation_id="updates_check",
        tags=[TAG],
        summary="Check offline courses for updates",
        description=(
            "Send what the app holds (each section's bundle version) and the courses it wants "
            "offline; the answer has one entry per section held and per section of those "
            "courses. `update` and `new` come with signed URLs valid for "
            "`LMS_BUNDLE_URL_TTL_SECONDS`: the manifest (whose SHA-256 is its `version`), "
            "each attachment, and the lessons' video downloads when `offline_video` is true. "
            "A section is offered only when the learner may open every one of its published "
            "lessons; otherwise it is `locked`, without URLs. Progress made offline is sent "
            "with `POST /api/v1/progress/sync/` as usual. The check changes nothing: repeat "
            "it freely. Errors: 400 `VALIDATION_ERROR`, 426 "
            "`APP_UPDATE_REQUIRED` (the app is older than `LMS_APP_MIN_VERSIONS` allows: "
            "nothing is answered until it is updated)."
        ),
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(400, 401),
            426: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="The app is too old: APP_UPDATE_REQUIRED; update it first.",
            ),
        },
        examples=[
            OpenApiExample(
                "An app holding one section",
                request_only=True,
                value={
                    "app": {"name": "ios", "version": "2.4.1"},
                    "bundles": [
                        {
                            "section": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
                            "version": "9f2c" + "0" * 60,
                        }
                    ],
                    "courses": ["6fa459ea-ee8a-3ca4-894e-db77e160355e"],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        app = app_version_check(name=values["app"]["name"], version=values["app"]["version"])
        check = updates_check(
            user=request.user,
            app=app,
            held=[(bundle["section"], bundle["version"]) for bundle in values.get("bundles", [])],
            course_ids=values.get("courses", []),
        )
        return Response(self.OutputSerializer(check, context={"request": request}).data)


# --- Bundle downloads ---------------------------------------------------------------------------
# The manifest as documented (catalog.bundles.manifest builds it; these only describe it).


@extend_schema_serializer(component_name="ManifestCourse")
class ManifestCourseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()


@extend_schema_serializer(component_name="ManifestSection")
class ManifestSectionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    order = serializers.IntegerField()


@extend_schema_serializer(component_name="ManifestChoice")
class ManifestChoiceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    text_html = serializers.CharField()


@extend_schema_serializer(component_name="ManifestQuestion")
class ManifestQuestionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    prompt_html = serializers.CharField()
    points = serializers.IntegerField()
    choices = ManifestChoiceSerializer(many=True, help_text="Empty for short answers.")


@extend_schema_serializer(component_name="ManifestQuiz")
class ManifestQuizSerializer(serializers.Serializer):
    pass_mark = serializers.IntegerField()
    max_attempts = serializers.IntegerField(allow_null=True)
    retry_wait_minutes = serializers.IntegerField()
    reveal_answers = serializers.ChoiceField(choices=Quiz.Reveal.choices)
    questions = ManifestQuestionSerializer(many=True)


@extend_schema_serializer(component_name="ManifestAttachment")
class ManifestAttachmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField(allow_blank=True)
    content_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(
        allow_null=True, help_text="Hex SHA-256 of the file; null when storage has no object."
    )


@extend_schema_serializer(component_name="ManifestVideo")
class ManifestVideoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    duration_seconds = serializers.FloatField(allow_null=True)
    downloadable = serializers.BooleanField(
        help_text="Whether it had downloads when built; the update check lists them afresh."
    )


@extend_schema_serializer(component_name="ManifestLesson")
class ManifestLessonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)
    order = serializers.IntegerField()
    duration_seconds = serializers.IntegerField()
    xp_value = serializers.IntegerField()
    is_free_preview = serializers.BooleanField()
    is_boss = serializers.BooleanField()
    is_required = serializers.BooleanField()
    body_html = serializers.CharField(allow_blank=True, help_text="The notes, sanitized HTML.")
    quiz = ManifestQuizSerializer(
        allow_null=True, help_text="Quiz lessons: the questions without answers."
    )
    attachments = ManifestAttachmentSerializer(many=True)
    video = ManifestVideoSerializer(allow_null=True)


@extend_schema_serializer(component_name="BundleManifest")
class ManifestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=[("lms.bundle", "lms.bundle")])
    format_version = serializers.IntegerField()
    course = ManifestCourseSerializer()
    section = ManifestSectionSerializer()
    lessons = ManifestLessonSerializer(many=True, help_text="The published lessons, in order.")


class BundleDownloadApi(APIView):
    """One bundle's manifest, through the signed URL an update check gave."""

    # The signed token is the permission, as in a presigned storage URL: download managers
    # fetch it without the learner's credentials.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        # Tokens are about 120 characters; 300 keeps any query string, percent-encoded,
        # inside the request line a server accepts (gunicorn answers 414 past 4094 bytes).
        token = serializers.CharField(
            max_length=300, help_text="The token of the URL the update check gave."
        )

    @extend_schema(
        operation_id="bundles_download",
        tags=[TAG],
        summary="Download a bundle's manifest",
        parameters=[FilterSerializer],
        description=(
            "The URL comes from `POST /api/v1/updates/check/`. The body is the manifest's "
            "canonical JSON: its SHA-256 is the bundle's `version` (also the `ETag`). "
            "Errors: 403 `BUNDLE_URL_INVALID` (the token does not verify or is another "
            "bundle's), 410 `BUNDLE_URL_EXPIRED` (check again for a fresh URL) or "
            "`BUNDLE_GONE` (the version was replaced long enough ago to be deleted)."
        ),
        responses={200: ManifestSerializer, **error_responses(400, 403, 410)},
    )
    def get(self, request: Request, bundle_id: uuid.UUID) -> HttpResponse:
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        bundle = bundle_for_download(bundle_id=bundle_id, token=query.validated_data["token"])
        response = HttpResponse(canonical_json(bundle.manifest), content_type="application/json")
        response["ETag"] = f'"{bundle.version}"'
        response["Cache-Control"] = "private, max-age=3600, immutable"
        return response


urlpatterns = [
    path("updates/check/", UpdatesCheckApi.as_view(), name="updates-check"),
    path("bundles/<uuid:bundle_id>/", BundleDownloadApi.as_view(), name="bundle-download"),
]
