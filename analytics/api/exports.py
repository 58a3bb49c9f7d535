"""Learners' data exports for apps (`/api/v1/me/data-exports/`): ask for one, follow it,
download it. The same flow as the "Your data" page (README "Your data")."""

import uuid

from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.export_selectors import data_export_get, data_export_list
from analytics.export_views import data_export_file_response
from analytics.models import DataExport
from analytics.services.exports import (
    data_export_download_url,
    data_export_for_download,
    data_export_request,
)
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.http import client_ip

TAG = "data exports"


@extend_schema_serializer(component_name="DataExport")
class DataExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField(
        help_text=(
            "While ready: the signed link of the email (opens in a browser, for its owner "
            "signed in). Apps may also fetch `file_url` with their token. Null otherwise."
        )
    )
    file_url = serializers.SerializerMethodField(
        help_text="While ready: the ZIP for this API's authentication. Null otherwise."
    )

    class Meta:
        model = DataExport
        fields = [
            "id",
            "status",
            "requested_at",
            "ready_at",
            "expires_at",
            "size_bytes",
            "download_url",
            "file_url",
        ]
        read_only_fields = fields

    def get_download_url(self, export: DataExport) -> str | None:
        return data_export_download_url(export=export) if export.is_downloadable() else None

    def get_file_url(self, export: DataExport) -> str | None:
        if not export.is_downloadable():
            return None
        path = reverse("analytics-api:data-export-file", kwargs={"export_id": export.pk})
        return self.context["request"].build_absolute_uri(path)


class DataExportListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="me_data_exports_list",
        tags=[TAG],
        summary="List my data exports",
        responses={200: DataExportSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(data_export_list(user=request.user), request, self)
        data = DataExportSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="me_data_exports_create",
        tags=[TAG],
        summary="Ask for an export of my data",
        description=(
            "Queues a ZIP of everything the school holds about me (one JSON file per part, "
            "and a README.txt); an email with the download link follows when it is ready. "
            "One at a time: while one is `pending`, 409 `DATA_EXPORT_PENDING`."
        ),
        request=None,
        responses={202: DataExportSerializer, **error_responses(401, 409)},
    )
    def post(self, request: Request) -> Response:
        export = data_export_request(user=request.user, ip_address=client_ip(request))
        data = DataExportSerializer(export, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class DataExportDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_data_exports_retrieve",
        tags=[TAG],
        summary="Get one of my data exports",
        description="Another user's export is 404 `DATA_EXPORT_NOT_FOUND`, like an unknown id.",
        responses={200: DataExportSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, export_id: uuid.UUID) -> Response:
        export = data_export_get(user=request.user, export_id=export_id)
        return Response(DataExportSerializer(export, context={"request": request}).data)


class DataExportFileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_data_exports_file",
        tags=[TAG],
        summary="Download one of my data exports",
        description=(
            "The ZIP (`application/zip`), or with S3 storage a 302 to a presigned URL valid "
            "for a minute. 409 `DATA_EXPORT_NOT_READY` while pending or failed, 410 "
            "`DATA_EXPORT_EXPIRED` once its file is deleted."
        ),
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="With S3 storage: a presigned URL."),
            **error_responses(401, 404, 409, 410),
        },
    )
    def get(self, request: Request, export_id: uuid.UUID):
        export = data_export_for_download(export_id=export_id, user=request.user)
        return data_export_file_response(export)


urlpatterns = [
    path("me/data-exports/", DataExportListApi.as_view(), name="data-export-list"),
    path(
        "me/data-exports/<uuid:export_id>/",
        DataExportDetailApi.as_view(),
        name="data-export-detail",
    ),
    path(
        "me/data-exports/<uuid:export_id>/file/",
        DataExportFileApi.as_view(),
        name="data-export-file",
    ),
]
