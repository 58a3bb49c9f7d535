"""Notifications API (`/api/v1/me/notifications/`): my notifications, unread count, mark
read, mark all read, and my email preferences. Another user's notification is 404
NOTIFICATION_NOT_FOUND, like one that does not exist."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from notifications.kinds import Delivery
from notifications.models import Notification
from notifications.selectors import (
    notification_preferences_rows,
    notifications_for,
    notifications_unread_count,
)
from notifications.services import (
    notification_mark_read,
    notification_preferences_set,
    notifications_mark_all_read,
)

TAG = "notifications"


@extend_schema_serializer(component_name="NotificationActor")
class ActorSerializer(serializers.Serializer):
    """Who caused it: their public name only (never an email address)."""

    id = serializers.UUIDField()
    name = serializers.CharField(source="public_name")


@extend_schema_serializer(component_name="Notification")
class NotificationSerializer(serializers.ModelSerializer):
    actor = ActorSerializer(allow_null=True, read_only=True)
    url = serializers.SerializerMethodField(
        help_text="Where it points, absolute; empty when it points nowhere."
    )
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "actor", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_url(self, notification: Notification) -> str:
        if not notification.url:
            return ""
        return self.context["request"].build_absolute_uri(notification.url)


class NotificationListApi(APIView):
    """My notifications, newest first."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="me_notifications_list",
        tags=[TAG],
        summary="List my notifications",
        parameters=[
            OpenApiParameter(
                "unread",
                OpenApiTypes.BOOL,
                description="`true`: only the unread ones.",
                required=False,
            )
        ],
        responses={200: NotificationSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        notifications = notifications_for(user=request.user)
        unread = request.query_params.get("unread", "")
        if unread not in ("", "true", "false"):
            raise serializers.ValidationError({"unread": ["Use true or false."]})
        if unread == "true":
            notifications = notifications.filter(read_at__isnull=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(notifications, request, view=self)
        data = NotificationSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class NotificationUnreadCountApi(APIView):
    """What the bell shows: how many of my notifications are unread (one COUNT)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationUnreadCount")
    class OutputSerializer(serializers.Serializer):
        unread = serializers.IntegerField(min_value=0)

    @extend_schema(
        operation_id="me_notifications_unread_count",
        tags=[TAG],
        summary="Count my unread notifications",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response({"unread": notifications_unread_count(user=request.user)})


class NotificationReadApi(APIView):
    """Mark one of my notifications read; again is harmless (the first time is kept)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_notifications_read",
        tags=[TAG],
        summary="Mark a notification read",
        request=None,
        responses={200: NotificationSerializer, **error_responses(401, 404)},
    )
    def post(self, request: Request, notification_id) -> Response:
        notification = notification_mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationSerializer(notification, context={"request": request}).data)


class NotificationReadAllApi(APIView):
    """Mark every one of my notifications read."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationReadAll")
    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField(min_value=0, help_text="How many were unread.")
        unread = serializers.IntegerField(min_value=0, help_text="Always 0 afterwards.")

    @extend_schema(
        operation_id="me_notifications_read_all",
        tags=[TAG],
        summary="Mark all my notifications read",
        request=None,
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def post(self, request: Request) -> Response:
        marked = notifications_mark_all_read(user=request.user)
        return Response({"marked": marked, "unread": 0})


@extend_schema_serializer(component_name="NotificationPreference")
class PreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="The kind's key, e.g. `reply`.")
    label = serializers.CharField()
    description = serializers.CharField()
    delivery = serializers.ChoiceField(choices=Delivery.CHOICES)


class NotificationPreferencesApi(APIView):
    """My email delivery per kind: immediately, in the daily or weekly digest, or off
    (in-app only). Kinds that are never emailed (payment problems: billing emails those
    itself) are not listed."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationPreferences")
    class OutputSerializer(serializers.Serializer):
        preferences = PreferenceSerializer(many=True)

    @extend_schema_serializer(component_name="NotificationPreferencesUpdate")
    class InputSerializer(serializers.Serializer):
        preferences = serializers.DictField(
            child=serializers.ChoiceField(choices=Delivery.CHOICES),
            help_text='The kinds to change, e.g. `{"reply": "daily", "announcement": "off"}`.',
        )

    def _output(self, request: Request) -> Response:
        rows = notification_preferences_rows(user=request.user)
        data = [
            {
                "kind": kind.key,
                "label": str(kind.label),
                "description": str(kind.description),
                "delivery": delivery,
            }
            for kind, delivery in rows
        ]
        return Response(self.OutputSerializer({"preferences": data}).data)

    @extend_schema(
        operation_id="me_notification_preferences_retrieve",
        tags=[TAG],
        summary="Get my email preferences",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return self._output(request)

    @extend_schema(
        operation_id="me_notification_preferences_update",
        tags=[TAG],
        summary="Change my email preferences",
        description=(
            "Only the kinds sent change. An unknown kind is 400 `NOTIFICATION_KIND_UNKNOWN` "
            "with the kind in `fields`; an unknown delivery 400 `VALIDATION_ERROR`."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401)},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notification_preferences_set(
            user=request.user, deliveries=serializer.validated_data["preferences"]
        )
        return self._output(request)


urlpatterns = [
    path("me/notifications/", NotificationListApi.as_view(), name="list"),
    path("me/notifications/unread-count/", NotificationUnreadCountApi.as_view(), name="unread"),
    path("me/notifications/read-all/", NotificationReadAllApi.as_view(), name="read-all"),
    path(
        "me/notifications/preferences/",
        NotificationPreferencesApi.as_view(),
        name="preferences",
    ),
    path(
        "me/notifications/<uuid:notification_id>/read/",
        NotificationReadApi.as_view(),
        name="read",
    ),
]
