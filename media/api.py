"""Uploads API (`/api/v1/`): presigned uploads to S3-compatible storage, confirm, signed reads.

1. `POST uploads/presign/` answers a POST policy; the client sends the file's bytes straight
   to the bucket (`url` with `fields`, the file last, as the `file` form field).
2. `POST uploads/<id>/confirm/` checks the stored object and makes the file count.
3. `GET files/<id>/` answers a short-lived signed URL to read it.

Signed-in users only; a user sees only their own uploads (staff: every file), and anyone
else's id answers 404. Without storage configured every operation answers 503
STORAGE_NOT_CONFIGURED.
"""

import uuid

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lms.api.schema import ErrorEnvelopeSerializer, error_responses
from media.models import StoredFile
from media.storage import (
    file_get_readable,
    file_signed_url,
    upload_confirm,
    upload_presign,
)

TAG = "uploads"

_UNAVAILABLE = {
    503: OpenApiResponse(
        ErrorEnvelopeSerializer, description="`STORAGE_NOT_CONFIGURED`: uploads are off."
    )
}


@extend_schema_serializer(component_name="StoredFile")
class FileOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = StoredFile
        fields = [
            "id",
            "purpose",
            "key",
            "title",
            "content_type",
            "size",
            "status",
            "created_at",
            "confirmed_at",
        ]
        read_only_fields = fields


class UploadPresignApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="PresignRequest")
    class InputSerializer(serializers.Serializer):
        purpose = serializers.ChoiceField(choices=StoredFile.Purpose.choices)
        content_type = serializers.CharField(max_length=100)
        size = serializers.IntegerField(min_value=1, help_text="The file's size in bytes.")
        filename = serializers.CharField(max_length=255, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="PresignedUpload")
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="file.id")
        url = serializers.URLField(help_text="POST the form here.")
        fields = serializers.DictField(
            child=serializers.CharField(),
            help_text="Form fields to send as they are, before the `file` field.",
        )
        key = serializers.CharField(source="file.key")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="uploads_presign",
        tags=[TAG],
        summary="Start an upload: a presigned POST to the storage bucket",
        description=(
            "400 `UPLOAD_TYPE_NOT_ALLOWED` (avatars and thumbnails: JPEG, PNG or WebP; "
            "attachments: PDF or images) or `UPLOAD_TOO_LARGE`. The bucket itself refuses a "
            "file of another type or larger than `size`. Learners may upload only `avatars` "
            "(403 `PERMISSION_DENIED` otherwise)."
        ),
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 401, 403), **_UNAVAILABLE},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presigned = upload_presign(user=request.user, **data.validated_data)
        return Response(self.OutputSerializer(presigned).data, status=201)


class UploadConfirmApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="uploads_confirm",
        tags=[TAG],
        summary="Finish an upload",
        description=(
            "409 `UPLOAD_INCOMPLETE` while the bucket has no file yet. A stored file larger "
            "than allowed (`UPLOAD_TOO_LARGE`) or of another type (`UPLOAD_MISMATCH`) is "
            "removed. Confirming twice is harmless."
        ),
        request=None,
        responses={
            200: FileOutputSerializer,
            **error_responses(400, 401, 404, 409),
            **_UNAVAILABLE,
        },
    )
    def post(self, request: Request, file_id: uuid.UUID) -> Response:
        file = upload_confirm(file_id=file_id, user=request.user)
        return Response(FileOutputSerializer(file).data)


class FileReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="SignedFileUrl")
    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField(help_text="GET this URL for the file's bytes.")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="files_read",
        tags=[TAG],
        summary="A short-lived signed URL to read a file",
        responses={200: OutputSerializer, **error_responses(401, 404, 409), **_UNAVAILABLE},
    )
    def get(self, request: Request, file_id: uuid.UUID) -> Response:
        file = file_get_readable(file_id=file_id, user=request.user)
        signed = file_signed_url(file=file, user=request.user)
        return Response(self.OutputSerializer(signed).data)


urlpatterns = [
    path("uploads/presign/", UploadPresignApi.as_view(), name="upload-presign"),
    path("uploads/<uuid:file_id>/confirm/", UploadConfirmApi.as_view(), name="upload-confirm"),
    path("files/<uuid:file_id>/", FileReadApi.as_view(), name="file-read"),
]
