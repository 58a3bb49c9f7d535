"""The lesson tutor's API (`/api/v1/`): ask about a lesson (JSON, or server-sent events with
`Accept: text/event-stream`), the quota and conversations of a lesson, one conversation
(read, delete), all of them, and reporting an answer.

Every endpoint is about the requesting learner's own data; the lesson endpoints ask the access
policy (`catalog.access`) as the lesson endpoint does (404 LESSON_NOT_FOUND, 403
LOGIN_REQUIRED / UPGRADE_REQUIRED). Streaming: DRF negotiates the renderer from `Accept`;
errors found before the first word (quota, access, provider down) answer with the JSON
envelope and their status, later ones arrive as an `error` event.
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.llm import llm_configured
from assistant.models import Conversation, Message
from assistant.services.tutor import (
    QUESTION_MAX_CHARS,
    TutorAnswer,
    TutorEvent,
    TutorStream,
    tutor_answer_get,
    tutor_ask,
    tutor_conversation_delete,
    tutor_conversation_get,
    tutor_lesson_check,
    tutor_message_flag,
)
from assistant.services.tutor_quota import QuotaState, tutor_quota_get
from catalog.selectors import lesson_get_by_id
from lms.api.pagination import PageNumberPagination
from lms.api.schema import ErrorEnvelopeSerializer, error_responses

TAG = "tutor"
RECENT_CONVERSATIONS = 20


def _absolute(request: Request | None, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None and url else url


# --- Renderers: JSON, and the event stream the ask endpoint can answer with ------------------
class EventStreamRenderer(BaseRenderer):
    """Lets `Accept: text/event-stream` through content negotiation; the view streams the
    events itself (StreamingHttpResponse), so this renders only what it is handed."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data).encode()


def sse_event(event: TutorEvent) -> bytes:
    """One event in the wire format: `event: <name>` and one `data:` line of JSON."""
    data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event.name}\ndata: {data}\n\n".encode()


# --- Serializers ----------------------------------------------------------------------------
@extend_schema_serializer(component_name="TutorQuota")
class QuotaSerializer(serializers.Serializer):
    """The learner's questions today; the day is theirs (profile time zone)."""

    limit = serializers.IntegerField(help_text="Questions a day for the learner's tier; 0: none.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField(help_text="The learner's next local midnight.")


def _quota(state: QuotaState) -> dict[str, Any]:
    return QuotaSerializer(state.as_dict()).data


@extend_schema_serializer(component_name="TutorCitation")
class CitationSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="The [n] the answer cites it by.")
    lesson = serializers.UUIDField(help_text="The lesson's id.")
    title = serializers.CharField()
    url = serializers.URLField(help_text="The lesson's web page.")


def _citations(request: Request | None, citations: list[dict]) -> list[dict]:
    return [{**item, "url": _absolute(request, item.get("url", ""))} for item in citations]


@extend_schema_serializer(component_name="TutorMessage")
class MessageSerializer(serializers.ModelSerializer):
    """A question (`role` user) or the tutor's answer (`role` assistant, Markdown, with the
    lessons it cites; `flagged` once the learner reported it)."""

    citations = serializers.SerializerMethodField()
    flagged = serializers.BooleanField(source="is_flagged")

    class Meta:
        model = Message
        fields = ["id", "role", "text", "citations", "created_at", "flagged"]
        read_only_fields = fields

    @extend_schema_field(CitationSerializer(many=True))
    def get_citations(self, message: Message) -> list[dict]:
        return CitationSerializer(
            _citations(self.context.get("request"), message.citations), many=True
        ).data


@extend_schema_serializer(component_name="TutorLessonRef")
class LessonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_url(self, lesson) -> str:
        return _absolute(self.context.get("request"), lesson.get_absolute_url())


@extend_schema_serializer(component_name="TutorConversationSummary")
class ConversationSummarySerializer(serializers.ModelSerializer):
    lesson = LessonRefSerializer()

    class Meta:
        model = Conversation
        fields = ["id", "lesson", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="TutorConversation")
class ConversationSerializer(serializers.ModelSerializer):
    lesson = LessonRefSerializer()
    messages = MessageSerializer(many=True)

    class Meta:
        model = Conversation
        fields = ["id", "lesson", "created_at", "updated_at", "messages"]
        read_only_fields = fields


def _provider_errors() -> dict[int, OpenApiResponse]:
    return {
        502: OpenApiResponse(
            ErrorEnvelopeSerializer, description="The provider failed: AI_PROVIDER_ERROR."
        ),
        503: OpenApiResponse(
            ErrorEnvelopeSerializer,
            description=(
                "AI_NOT_CONFIGURED (no provider set up), AI_BUDGET_EXHAUSTED (this month's "
                "budget is spent) or SERVICE_UNAVAILABLE."
            ),
        ),
        504: OpenApiResponse(
            ErrorEnvelopeSerializer, description="The provider took too long: AI_TIMEOUT."
        ),
    }


# --- Ask, and what the lesson's tutor shows ---------------------------------------------------
STREAM_DESCRIPTION = """With `Accept: text/event-stream` the answer streams as server-sent
events, each `event: <name>` with one `data:` line of JSON:

- `conversation` `{"id": uuid, "quota": TutorQuota}` first (the quota after this question);
- `delta` `{"text": str}`: the next piece of the answer (Markdown), as many as it takes;
- `citations` `[TutorCitation]`: the lessons the answer cites as [n];
- `done` `{"message_id": uuid, "quota": TutorQuota}`: the answer is saved;
- or `error` `{"code", "message"}` instead of `citations`/`done` when the provider fails
  midway (AI_PROVIDER_ERROR, AI_TIMEOUT); the question is then given back.

Refusals found before the first word answer with the JSON envelope and their status, as
without streaming."""


class LessonTutorApi(APIView):
    """Ask the tutor about a lesson (POST), or read its quota and conversations (GET)."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema_serializer(component_name="TutorQuestion")
    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=QUESTION_MAX_CHARS, trim_whitespace=True)
        conversation = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="Continue this conversation of yours (about the same lesson).",
        )

    @extend_schema_serializer(component_name="TutorAnswer")
    class AnswerSerializer(serializers.Serializer):
        conversation = serializers.UUIDField()
        message = MessageSerializer(help_text="The saved answer.")
        answer = serializers.CharField(help_text="The answer's text (Markdown).")
        citations = CitationSerializer(many=True)
        quota = QuotaSerializer(help_text="The quota after this question.")

    @extend_schema_serializer(component_name="LessonTutor")
    class StateSerializer(serializers.Serializer):
        configured = serializers.BooleanField(
            help_text="False: no provider is set up; asking answers 503 AI_NOT_CONFIGURED."
        )
        quota = QuotaSerializer(help_text="`limit` 0: the learner's plan has no tutor.")
        conversations = ConversationSummarySerializer(
            many=True, help_text=f"The learner's {RECENT_CONVERSATIONS} latest on this lesson."
        )

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are JSON whatever was asked for (an event-stream client reads the status).
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(response, Response) and isinstance(renderer, EventStreamRenderer):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="lessons_tutor_retrieve",
        tags=[TAG],
        summary="The tutor of a lesson: quota and conversations",
        responses={200: StateSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, lesson_id) -> Response:
        lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
        tutor_lesson_check(user=request.user, lesson=lesson)
        conversations = (
            Conversation.objects.filter(user=request.user, lesson=lesson)
            .select_related("lesson__course")
            .order_by("-updated_at")[:RECENT_CONVERSATIONS]
        )
        data = {
            "configured": llm_configured(),
            "quota": _quota(tutor_quota_get(user=request.user)),
            "conversations": ConversationSummarySerializer(
                conversations, many=True, context={"request": request}
            ).data,
        }
        return Response(data)

    @extend_schema(
        operation_id="lessons_tutor_ask",
        tags=[TAG],
        summary="Ask the tutor about a lesson",
        description=(
            "The answer is grounded in this lesson's notes and the course's other published "
            "lessons the learner may open, citing them as [1], [2]; unrelated requests are "
            "refused. Each question takes one of the learner's questions of the day "
            "(TUTOR_QUOTA_EXHAUSTED 429 with `retry_at`, their next local midnight; "
            "TUTOR_NOT_IN_PLAN 403 when their tier has none), given back if the provider "
            "fails.\n\n" + STREAM_DESCRIPTION
        ),
        request=InputSerializer,
        responses={
            (200, "application/json"): AnswerSerializer,
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="Server-sent events (see the description)."
            ),
            **error_responses(403, 404, 409, 429),
            **_provider_errors(),
        },
        examples=[
            OpenApiExample(
                "A question",
                value={"question": "Why do we break on 1?", "conversation": None},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, lesson_id) -> Response | StreamingHttpResponse:
        lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
        tutor_lesson_check(user=request.user, lesson=lesson)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        streaming = request.accepted_renderer.format == EventStreamRenderer.format
        result = tutor_ask(
            user=request.user,
            lesson=lesson,
            question=serializer.validated_data["question"],
            conversation_id=serializer.validated_data.get("conversation"),
            stream=streaming,
        )
        if isinstance(result, TutorStream):
            return _event_stream_response(request, result)
        return Response(self._answer(request, result), status=status.HTTP_200_OK)

    def _answer(self, request: Request, result: TutorAnswer) -> dict[str, Any]:
        context = {"request": request}
        return {
            "conversation": str(result.conversation.pk),
            "message": MessageSerializer(result.answer, context=context).data,
            "answer": result.answer.text,
            "citations": CitationSerializer(_citations(request, result.citations), many=True).data,
            "quota": _quota(result.quota),
        }


def _event_stream_response(request: Request, stream: TutorStream) -> StreamingHttpResponse:
    def events() -> Iterator[bytes]:
        try:
            for event in stream:
                if event.name == "citations":
                    event = TutorEvent(event.name, _citations(request, event.data))
                yield sse_event(event)
        finally:
            stream.close()  # the client left early: stop the provider, keep what it saw

    content: Iterator[bytes] | AsyncIterator[bytes] = events()
    if isinstance(request._request, ASGIRequest):
        content = _async_events(content)
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    # nginx (deploy/nginx.conf) passes each event on at once instead of buffering them.
    response["X-Accel-Buffering"] = "no"
    return response


async def _async_events(events: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Under ASGI (runserver's daphne, uvicorn) Django buffers a sync iterator whole; pull
    each event in the thread the request's database work runs in instead."""
    done = object()
    pull = sync_to_async(lambda: next(events, done), thread_sensitive=True)
    try:
        while (item := await pull()) is not done:
            yield item
    finally:
        await sync_to_async(events.close, thread_sensitive=True)()


# --- Conversations ----------------------------------------------------------------------------
class ConversationListApi(APIView):
    """The learner's tutor conversations, newest first."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="tutor_conversations_list",
        tags=[TAG],
        summary="Your tutor conversations",
        parameters=[
            OpenApiParameter(
                "lesson", OpenApiTypes.UUID, description="Only those about this lesson."
            )
        ],
        responses={200: ConversationSummarySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        conversations = (
            Conversation.objects.filter(user=request.user)
            .select_related("lesson__course")
            .order_by("-updated_at", "pk")
        )
        lesson = request.query_params.get("lesson")
        if lesson:
            lesson_field = serializers.UUIDField()
            try:
                lesson_id = lesson_field.to_internal_value(lesson)
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"lesson": error.detail}) from None
            conversations = conversations.filter(lesson_id=lesson_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(conversations, request, view=self)
        data = ConversationSummarySerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class ConversationDetailApi(APIView):
    """One of the learner's conversations with all its messages (GET), or delete it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="tutor_conversations_retrieve",
        tags=[TAG],
        summary="A tutor conversation",
        responses={200: ConversationSerializer, **error_responses(404)},
    )
    def get(self, request: Request, conversation_id) -> Response:
        conversation = tutor_conversation_get(user=request.user, conversation_id=conversation_id)
        conversation = (
            Conversation.objects.select_related("lesson__course")
            .prefetch_related("messages")
            .get(pk=conversation.pk)
        )
        return Response(ConversationSerializer(conversation, context={"request": request}).data)

    @extend_schema(
        operation_id="tutor_conversations_destroy",
        tags=[TAG],
        summary="Delete a tutor conversation",
        description="Deletes it and all its messages for good.",
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: Request, conversation_id) -> Response:
        conversation = tutor_conversation_get(user=request.user, conversation_id=conversation_id)
        tutor_conversation_delete(user=request.user, conversation=conversation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageFlagApi(APIView):
    """Report one of the tutor's answers to you for staff to review."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="TutorAnswerReport")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            max_length=500, required=False, allow_blank=True, help_text="What is wrong with it."
        )

    @extend_schema(
        operation_id="tutor_messages_flag",
        tags=[TAG],
        summary="Report a tutor answer",
        request=InputSerializer,
        responses={200: MessageSerializer, **error_responses(404)},
    )
    def post(self, request: Request, message_id) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = tutor_answer_get(user=request.user, message_id=message_id)
        message = tutor_message_flag(
            user=request.user, message=message, reason=serializer.validated_data.get("reason", "")
        )
        return Response(MessageSerializer(message, context={"request": request}).data)


urlpatterns = [
    path("lessons/<uuid:lesson_id>/tutor/", LessonTutorApi.as_view(), name="tutor-ask"),
    path("tutor/conversations/", ConversationListApi.as_view(), name="tutor-conversation-list"),
    path(
        "tutor/conversations/<uuid:conversation_id>/",
        ConversationDetailApi.as_view(),
        name="tutor-conversation-detail",
    ),
    path(
        "tutor/messages/<uuid:message_id>/flag/",
        MessageFlagApi.as_view(),
        name="tutor-message-flag",
    ),
]
