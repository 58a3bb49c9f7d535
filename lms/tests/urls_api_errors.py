"""Test-only API views, one per kind of failure, wired like the real API (DRF defaults).

Used with `@pytest.mark.urls("lms.tests.urls_api_errors")`; the error handlers are the
project's, so unknown paths and crashes outside DRF answer as they would in production.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

# A fixed clock: the throttle's wait is then exactly one minute, whatever the test's speed.
FROZEN_TIME = 1_700_000_000.0


class EchoApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=10)
        tags = serializers.ListField(child=serializers.CharField(max_length=5), required=False)

    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class SignedInApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"email": request.user.email})


class SignedInByHeaderApi(SignedInApi):
    # A header-based scheme answers 401 with WWW-Authenticate, as token auth will.
    authentication_classes = [BasicAuthentication]


class StaffOnlyApi(APIView):
    permission_classes = [IsAdminUser]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class DjangoErrorsApi(APIView):
    """Django's own exceptions, as a model's `full_clean` or a helper might raise them."""

    def get(self, request: Request) -> Response:
        raise PermissionDenied

    def post(self, request: Request) -> Response:
        raise DjangoValidationError({"start": ["Start must be before the end."]})


class OncePerMinuteThrottle(AnonRateThrottle):
    scope = "test-once"
    rate = "1/min"

    def timer(self) -> float:
        return FROZEN_TIME


class ThrottledApi(APIView):
    throttle_classes = [OncePerMinuteThrottle]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class BrokenApi(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("secret-connection-string went wrong")


def broken_plain_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-connection-string went wrong outside DRF")


urlpatterns = [
    path("api/test/echo/", EchoApi.as_view()),
    path("api/test/signed-in/", SignedInApi.as_view()),
    path("api/test/signed-in-by-header/", SignedInByHeaderApi.as_view()),
    path("api/test/staff-only/", StaffOnlyApi.as_view()),
    path("api/test/django-errors/", DjangoErrorsApi.as_view()),
    path("api/test/throttled/", ThrottledApi.as_view()),
    path("api/test/broken/", BrokenApi.as_view()),
    path("api/test/broken-plain/", broken_plain_view),
]

handler404 = "lms.views.page_not_found"
handler500 = "lms.views.server_error"
