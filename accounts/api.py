"""Accounts API (`/api/v1/`): the signed-in user's profile and sessions.

Apps sign in through allauth headless (`/_allauth/app/v1/auth/login`, `.../signup`, ...) and
send the access token it returns as `Authorization: Bearer <token>`; browsers use their
session cookie. Both reach these operations as `request.user`.
"""

from typing import Any

from allauth.headless import app_settings as headless_settings
from allauth.usersessions.models import UserSession
from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.deletion import user_account_delete
from accounts.devices import device_name
from accounts.forms import AccountDeleteForm
from accounts.models import User
from accounts.selectors import user_sessions_list
from accounts.services import (
    user_avatar_remove,
    user_avatar_set,
    user_profile_update,
    user_session_revoke,
)
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.http import client_ip

TAG = "accounts"


class AllauthJWTScheme(OpenApiAuthenticationExtension):
    """Documents allauth's JWT access tokens as what they are (drf-spectacular would
    otherwise call them a generic DRF token)."""

    target_class = "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "An access token from allauth headless: `meta.access_token` of a successful "
                "`/_allauth/app/v1/auth/login` (or signup, or email verification); renew it "
                "with the refresh token at `/_allauth/app/v1/tokens/refresh`."
            ),
        }


def _absolute(request: Request, url: str) -> str:
    # Storage URLs may already be absolute (S3); build_absolute_uri leaves those alone.
    return request.build_absolute_uri(url)


def _current_session_key(request: Request) -> str | None:
    """The session this request belongs to: an app's is named inside its access token
    (allauth's JWT payload is `request.auth`), a browser's is its session cookie."""
    if isinstance(request.auth, dict):
        return headless_settings.TOKEN_STRATEGY.get_session_token(request)
    return request.session.session_key


class MeApi(APIView):
    """The signed-in user's profile. The email address is shown but changed only through
    allauth's email management, which verifies the new address first."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="Me")
    class OutputSerializer(serializers.ModelSerializer):
        avatar_url = serializers.SerializerMethodField(help_text="The picture, at most 512 px.")
        avatar_thumbnail_url = serializers.SerializerMethodField(
            help_text="A 128 px square version of the picture."
        )

        class Meta:
            model = User
            fields = [
                "id",
                "email",
                "display_name",
                "bio",
                "time_zone",
                "avatar_url",
                "avatar_thumbnail_url",
                "is_staff",
                "date_joined",
            ]
            read_only_fields = fields

        @extend_schema_field(serializers.URLField(allow_null=True))
        def get_avatar_url(self, user: User) -> str | None:
            return _absolute(self.context["request"], user.avatar.url) if user.avatar else None

        @extend_schema_field(serializers.URLField(allow_null=True))
        def get_avatar_thumbnail_url(self, user: User) -> str | None:
            if not user.avatar_thumbnail:
                return None
            return _absolute(self.context["request"], user.avatar_thumbnail.url)

    @extend_schema_serializer(component_name="MeUpdate")
    class InputSerializer(serializers.Serializer):
        # Checked by the service against the model (length, known IANA time zone), so the
        # API and the profile page give the same answers.
        display_name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
        bio = serializers.CharField(
            required=False,
            allow_blank=True,
            trim_whitespace=True,
            help_text="Plain text, up to 600 characters.",
        )
        time_zone = serializers.CharField(
            required=False, help_text="An IANA time zone name, for example Europe/Madrid."
        )

    @extend_schema(
        operation_id="me_retrieve",
        tags=[TAG],
        summary="Get my profile",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        operation_id="me_partial_update",
        tags=[TAG],
        summary="Change my display name, bio or time zone",
        description=(
            "Only the fields sent change. An unknown time zone is 400 `VALIDATION_ERROR` "
            "with `fields.time_zone`. `email` is read-only here."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401)},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_profile_update(user=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(user, context={"request": request}).data)


class MeAvatarApi(APIView):
    """My picture, for apps: the same checks and processing as the profile page (JPEG, PNG or
    WebP, decoded for real, stored re-encoded as WebP with a square thumbnail)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="AvatarUpload")
    class InputSerializer(serializers.Serializer):
        avatar = serializers.FileField(
            help_text="JPEG, PNG or WebP, at least 64 px a side, up to LMS_AVATAR_MAX_BYTES."
        )

    @extend_schema(
        operation_id="me_avatar_update",
        tags=[TAG],
        summary="Set my picture",
        description=(
            "A `multipart/form-data` body with the file in `avatar`. A file that is not a "
            "picture, too small or too large is 400 `VALIDATION_ERROR` with `fields.avatar`, "
            "and the previous picture stays."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={200: MeApi.OutputSerializer, **error_responses(400, 401)},
    )
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_avatar_set(user=request.user, upload=serializer.validated_data["avatar"])
        return Response(MeApi.OutputSerializer(user, context={"request": request}).data)

    @extend_schema(
        operation_id="me_avatar_destroy",
        tags=[TAG],
        summary="Remove my picture",
        responses={204: None, **error_responses(401)},
    )
    def delete(self, request: Request) -> Response:
        user_avatar_remove(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="UserSession")
class UserSessionSerializer(serializers.ModelSerializer):
    """A signed-in browser or app. `is_current` marks the one making this request."""

    device = serializers.SerializerMethodField(
        help_text='A readable name from `user_agent`: "Chrome on macOS", or "Unknown browser".'
    )
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "ip", "device", "user_agent", "created_at", "last_seen_at", "is_current"]
        read_only_fields = fields

    def get_device(self, session: UserSession) -> str:
        return device_name(session.user_agent)

    def get_is_current(self, session: UserSession) -> bool:
        return session.session_key == self.context["current_session_key"]


class MeSessionListApi(APIView):
    """My sessions, the same ones allauth lists at `/_allauth/app/v1/auth/sessions` (with
    the same ids), most recently seen first."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="me_sessions_list",
        tags=[TAG],
        summary="List my sessions",
        responses={200: UserSessionSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        sessions = user_sessions_list(user=request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(sessions, request, view=self)
        context = {"current_session_key": _current_session_key(request)}
        data = UserSessionSerializer(page, many=True, context=context).data
        return paginator.get_paginated_response(data)


class MeSessionRevokeApi(APIView):
    """Sign out one of my sessions: its cookie, access token and refresh token stop working
    at once. Revoking the current session signs this client out."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_sessions_destroy",
        tags=[TAG],
        summary="Revoke one of my sessions",
        description="Another user's session id is 404 `SESSION_NOT_FOUND`, like an unknown one.",
        responses={204: None, **error_responses(401, 404)},
    )
    def delete(self, request: Request, session_id: int) -> Response:
        user_session_revoke(user=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeDeletionApi(APIView):
    """Delete my account, from an app: the same rules and consequences as /profile/delete/
    (README "Your data")."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="AccountDeletion")
    class InputSerializer(serializers.Serializer):
        confirm_email = serializers.CharField(
            help_text="The account's email address, typed by the person as a confirmation."
        )
        password = serializers.CharField(
            required=False,
            allow_blank=True,
            trim_whitespace=False,
            help_text="Required when the account has a password (re-authentication).",
        )

    @extend_schema(
        operation_id="me_deletion_create",
        tags=[TAG],
        summary="Delete my account",
        description=(
            "Anonymises the account for good: email, name, picture and sign-in removed, every "
            "session (browsers and apps) ended, a confirmation emailed to the address it had. "
            "Learning records stay as anonymous numbers; billing records are kept. A wrong "
            "`confirm_email` or `password` is 400 `VALIDATION_ERROR` with `fields`; 409 "
            "`ACCOUNT_DELETION_BLOCKED` (the message says why) for the school's last "
            "superuser or a subscription still billed."
        ),
        request=InputSerializer,
        responses={204: None, **error_responses(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        form = AccountDeleteForm(serializer.validated_data, user=request.user)
        if not form.is_valid():
            raise serializers.ValidationError(
                {name: [str(error) for error in errors] for name, errors in form.errors.items()}
            )
        user_account_delete(user=request.user, ip_address=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("me/deletion/", MeDeletionApi.as_view(), name="deletion"),
    path("me/avatar/", MeAvatarApi.as_view(), name="avatar"),
    path("me/sessions/", MeSessionListApi.as_view(), name="session-list"),
    path("me/sessions/<int:session_id>/", MeSessionRevokeApi.as_view(), name="session-revoke"),
]
