"""Attachments API (`/api/v1/lessons/<id>/attachments/<file id>/`): a short-lived download URL.

Access is decided by `catalog.attachments.lesson_attachment_url` (the access policy first,
then the file must be attached to the lesson); this view only shapes the answer. It sits with
the other learning APIs (`progress.api`), next to playback.
"""

import uuid

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.attachments import lesson_attachment_url
from catalog.selectors import lesson_get_by_id
from lms.api.schema import error_responses

TAG = "learning"


class LessonAttachmentUrlApi(APIView):
    """A signed URL to download one of a lesson's files, for users who may open the lesson."""

    @extend_schema_serializer(component_name="LessonAttachmentUrl")
    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField(help_text="A signed GET URL; do not store it.")
        expires_at = serializers.DateTimeField(help_text="When the URL stops working.")

    @extend_schema(
        operation_id="lessons_attachment_url",
        tags=[TAG],
        summary="Get a download URL for a lesson's file",
        description=(
            "For users the access policy lets open the lesson. The URL is short-lived: ask "
            "again for each download. Errors: 404 `LESSON_NOT_FOUND` or `FILE_NOT_FOUND` (the "
            "file is not attached to this lesson), 403 `LOGIN_REQUIRED` or `UPGRADE_REQUIRED` "
            "(the tier), `LOCKED_PREREQUISITE` or `LOCKED_UNTIL` (the course's rules; "
            "`retry_at`), 503 `STORAGE_NOT_CONFIGURED`."
        ),
        responses={200: OutputSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID, file_id: uuid.UUID) -> Response:
        lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
        signed = lesson_attachment_url(user=request.user, lesson=lesson, file_id=file_id)
        body = {"url": signed.url, "expires_at": signed.expires_at}
        return Response(self.OutputSerializer(body).data)


urlpatterns = [
    path(
        "lessons/<uuid:lesson_id>/attachments/<uuid:file_id>/",
        LessonAttachmentUrlApi.as_view(),
        name="lesson-attachment-url",
    ),
]
