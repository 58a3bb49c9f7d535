"""The name printed on one of my certificates (`/api/v1/me/certificates/{code}/name/`)."""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lms.api.schema import error_responses
from lms.errors import ErrorCode, NotFoundError
from lms.http import client_ip
from progress.api.learning import CERTIFICATES_TAG, CertificateSerializer
from progress.selectors import certificate_get
from progress.services.certificates import certificate_name_set


class MyCertificateNameApi(APIView):
    """Give the name a certificate was issued without, or correct it (audited; the code,
    course and date stay). Someone else's certificate is not found, like an unknown code."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CertificateNameUpdate")
    class InputSerializer(serializers.Serializer):
        # Checked by the service (trimmed, required, at most 80 characters, not an email
        # address), so the page and the API give the same answers.
        learner_name = serializers.CharField(allow_blank=True, trim_whitespace=False)

    @extend_schema(
        operation_id="me_certificates_name_update",
        tags=[CERTIFICATES_TAG],
        summary="Set or correct the name on my certificate",
        description=(
            "Giving the name of a certificate issued without one (`name_pending`) is free; "
            "afterwards each change uses one of `name_corrections_left`. Sending the name it "
            "already has changes nothing. Errors: 400 `VALIDATION_ERROR` with "
            "`fields.learner_name`, 404 `CERTIFICATE_NOT_FOUND` (unknown or not mine), 409 "
            "`CERTIFICATE_NAME_CORRECTIONS_USED_UP`."
        ),
        request=InputSerializer,
        responses={200: CertificateSerializer, **error_responses(400, 401, 404, 409)},
    )
    def post(self, request: Request, code: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        certificate = certificate_get(code=code)
        if certificate.user_id != request.user.pk:
            raise NotFoundError(ErrorCode.CERTIFICATE_NOT_FOUND)
        certificate = certificate_name_set(
            certificate=certificate,
            user=request.user,
            learner_name=serializer.validated_data["learner_name"],
            ip_address=client_ip(request),
        )
        return Response(CertificateSerializer(certificate, context={"request": request}).data)


urlpatterns = [
    path(
        "me/certificates/<str:code>/name/",
        MyCertificateNameApi.as_view(),
        name="my-certificate-name",
    ),
]
