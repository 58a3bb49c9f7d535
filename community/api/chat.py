"""Chat API (`/api/v1/chat/`): channels, their history by message number, and writes for apps
without a socket. Every write goes through `community.services.chat`, so it is pushed live to
the channel's sockets exactly as a socket's own write is (protocol: `community.consumers`)."""

from typing import Any

from django.urls import path, reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from community.models import ChatChannel
from community.services.chat import (
    chat_channel_get,
    chat_channels_for,
    chat_message_data,
    chat_message_delete,
    chat_message_edit,
    chat_message_get,
    chat_message_hide,
    chat_message_post,
    chat_messages_list,
)
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses

TAG = "chat"
HISTORY_LIMIT_MAX = 100


def chat_websocket_url(request: Any, channel: ChatChannel) -> str:
    """The socket's absolute address: wss:// behind HTTPS, ws:// otherwise."""
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}/ws/chat/{channel.pk}/"


class AuthorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The public name (never the email address).")


@extend_schema_serializer(component_name="ChatMessage")
class MessageSerializer(serializers.Serializer):
    """The socket's `message` object, field for field."""

    id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3... per channel, in commit order.")
    channel = serializers.UUIDField()
    author = AuthorSerializer(allow_null=True, help_text="Null for the site's own posts.")
    body = serializers.CharField(help_text="Markdown, as written.")
    body_html = serializers.CharField(help_text="The body rendered and sanitised.")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    client_id = serializers.UUIDField(allow_null=True)

    def to_representation(self, instance: Any) -> dict:
        return chat_message_data(instance)


@extend_schema_serializer(component_name="ChatChannel")
class ChannelSerializer(serializers.ModelSerializer):
    course = serializers.SerializerMethodField()
    websocket_url = serializers.SerializerMethodField(
        help_text="Connect here (add `?after=<seq>` to catch up); protocol in the README."
    )
    messages_url = serializers.SerializerMethodField()

    class Meta:
        model = ChatChannel
        fields = [
            "id",
            "title",
            "course",
            "is_archived",
            "last_seq",
            "websocket_url",
            "messages_url",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"slug": {"type": "string"}, "title": {"type": "string"}},
            "description": "Null for a school-wide channel.",
        }
    )
    def get_course(self, channel: ChatChannel) -> dict | None:
        if channel.course is None:
            return None
        return {"slug": channel.course.slug, "title": channel.course.title}

    @extend_schema_field(serializers.CharField())
    def get_websocket_url(self, channel: ChatChannel) -> str:
        return chat_websocket_url(self.context["request"], channel)

    @extend_schema_field(serializers.URLField())
    def get_messages_url(self, channel: ChatChannel) -> str:
        url = reverse("community-api:chat-messages", kwargs={"channel_id": channel.pk})
        return self.context["request"].build_absolute_uri(url)


class ChannelListApi(APIView):
    """The chat channels I may join."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination  # the schema documents the page envelope too

    @extend_schema(
        operation_id="chat_channels_list",
        tags=[TAG],
        summary="Chat channels I may join",
        description=(
            "School-wide channels and those of the courses the access policy lets me open "
            "(a paid course's while my plan covers it). Each carries its `websocket_url`."
        ),
        responses={200: ChannelSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(chat_channels_for(user=request.user), request, self)
        data = ChannelSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class MessagesApi(APIView):
    """A channel's history (by message number), and posting to it."""

    permission_classes = [IsAuthenticated]

    class HistoryQuery(serializers.Serializer):
        after = serializers.IntegerField(required=False, min_value=0)
        before = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(
            required=False, min_value=1, max_value=HISTORY_LIMIT_MAX, default=50
        )

    @extend_schema_serializer(component_name="ChatHistory")
    class HistorySerializer(serializers.Serializer):
        results = MessageSerializer(many=True)
        has_more = serializers.BooleanField(
            help_text="More messages lie beyond these in the direction asked (after or before)."
        )

    @extend_schema_serializer(component_name="ChatMessageCreate")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(allow_blank=True, trim_whitespace=False)
        client_id = serializers.UUIDField(
            required=False, help_text="Your id for this message: a retry with it changes nothing."
        )

    @extend_schema(
        operation_id="chat_messages_list",
        tags=[TAG],
        summary="A channel's messages by number",
        description=(
            "Visible messages in `seq` order: with `after`, the first `limit` after it (catch "
            "up); otherwise the last `limit`, before `before` when given (scroll back)."
        ),
        parameters=[
            OpenApiParameter("after", int, description="Messages numbered above this."),
            OpenApiParameter("before", int, description="Messages numbered below this."),
            OpenApiParameter("limit", int, description=f"1 to {HISTORY_LIMIT_MAX} (50)."),
        ],
        responses={200: HistorySerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, channel_id: str) -> Response:
        query = self.HistoryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        channel = chat_channel_get(user=request.user, channel_id=channel_id)
        limit = query.validated_data["limit"]
        messages = chat_messages_list(
            channel=channel,
            after=query.validated_data.get("after"),
            before=query.validated_data.get("before"),
            limit=limit + 1,
        )
        has_more = len(messages) > limit
        if has_more:  # the extra one is beyond the page, on the side asked for
            messages = messages[:limit] if "after" in query.validated_data else messages[1:]
        data = {"results": [chat_message_data(m) for m in messages], "has_more": has_more}
        return Response(data)

    @extend_schema(
        operation_id="chat_messages_create",
        tags=[TAG],
        summary="Post a message",
        description=(
            "As the socket's `message.send`: 201 with the new message, pushed to every open "
            "socket; 200 with the first one when this `client_id` was already used here. "
            "Errors: 409 CHAT_CHANNEL_ARCHIVED, CHAT_CLIENT_ID_REUSED; 429 CHAT_RATE_LIMITED."
        ),
        request=InputSerializer,
        responses={
            201: MessageSerializer,
            200: MessageSerializer,
            **error_responses(400, 401, 403, 404, 409, 429),
        },
    )
    def post(self, request: Request, channel_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = chat_channel_get(user=request.user, channel_id=channel_id)
        message = chat_message_post(
            user=request.user,
            channel=channel,
            body=serializer.validated_data["body"],
            client_id=serializer.validated_data.get("client_id"),
        )
        answer = (
            status.HTTP_201_CREATED if getattr(message, "is_new", False) else status.HTTP_200_OK
        )
        return Response(chat_message_data(message), status=answer)


class MessageApi(APIView):
    """One message: its author edits it; its author or a moderator deletes it."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ChatMessageUpdate")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(allow_blank=True, trim_whitespace=False)

    @extend_schema(
        operation_id="chat_messages_update",
        tags=[TAG],
        summary="Edit my message",
        request=InputSerializer,
        responses={200: MessageSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, channel_id: str, message_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = chat_channel_get(user=request.user, channel_id=channel_id)
        message = chat_message_get(channel=channel, message_id=message_id)
        message = chat_message_edit(
            user=request.user, message=message, body=serializer.validated_data["body"]
        )
        return Response(chat_message_data(message))

    @extend_schema(
        operation_id="chat_messages_delete",
        tags=[TAG],
        summary="Delete a message (mine, or anyone's as a moderator)",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, channel_id: str, message_id: str) -> Response:
        channel = chat_channel_get(user=request.user, channel_id=channel_id)
        message = chat_message_get(channel=channel, message_id=message_id)
        chat_message_delete(user=request.user, message=message)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageHideApi(APIView):
    """Moderation: hide a message from everyone (kept for the admin)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="chat_messages_hide",
        tags=[TAG],
        summary="Hide a message (moderators)",
        description=(
            "Staff, moderators and the course's instructors. Every open socket gets "
            "`message.delete` with `reason` hidden; the history no longer shows it."
        ),
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, channel_id: str, message_id: str) -> Response:
        channel = chat_channel_get(user=request.user, channel_id=channel_id)
        message = chat_message_get(channel=channel, message_id=message_id)
        chat_message_hide(user=request.user, message=message)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("chat/channels/", ChannelListApi.as_view(), name="chat-channels"),
    path("chat/channels/<str:channel_id>/messages/", MessagesApi.as_view(), name="chat-messages"),
    path(
        "chat/channels/<str:channel_id>/messages/<str:message_id>/",
        MessageApi.as_view(),
        name="chat-message",
    ),
    path(
        "chat/channels/<str:channel_id>/messages/<str:message_id>/hide/",
        MessageHideApi.as_view(),
        name="chat-message-hide",
    ),
]
