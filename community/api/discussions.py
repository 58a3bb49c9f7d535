"""Lesson discussions API (`/api/v1/`): threads under a lesson, their replies, moderation
and reports. Reading needs what opening the lesson needs (`catalog.access`); writing needs
a signed-in user too. Errors use the envelope, with the lesson's own codes for access."""

from typing import Any

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from community.models import Reply, Report, Thread
from community.models.discussions import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from community.selectors.discussions import (
    discussion_can_moderate,
    discussion_lesson_get,
    post_html,
    replies_list,
    reply_get,
    thread_get,
    threads_list,
)
from community.services import discussions as services
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses

TAG = "discussions"


class IsAuthenticatedForWrites(IsAuthenticated):
    """Anyone the lesson is open to reads; only signed-in users write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in ("GET", "HEAD", "OPTIONS") or super().has_permission(request, view)


@extend_schema_serializer(component_name="DiscussionAuthor")
class AuthorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="public_name")


class _PostSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    author = AuthorSerializer()
    body = serializers.CharField()
    body_html = serializers.SerializerMethodField()
    is_hidden = serializers.BooleanField(help_text="Only moderators see hidden posts.")
    is_mine = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.CharField(help_text="The body as sanitized HTML."))
    def get_body_html(self, post: Thread | Reply) -> str:
        return str(post_html(post.body))

    @extend_schema_field(serializers.BooleanField(help_text="Whether you wrote it."))
    def get_is_mine(self, post: Thread | Reply) -> bool:
        user = self.context["request"].user
        return user.is_authenticated and post.author_id == user.pk


@extend_schema_serializer(component_name="DiscussionThread")
class ThreadSerializer(_PostSerializer):
    lesson = serializers.UUIDField(source="lesson_id")
    title = serializers.CharField()
    timestamp_seconds = serializers.IntegerField(allow_null=True)
    is_pinned = serializers.BooleanField()
    is_locked = serializers.BooleanField()
    reply_count = serializers.IntegerField(
        help_text="Replies you can see (in lists; in a thread's detail, its first page's total)."
    )
    last_activity_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DiscussionReply")
class ReplySerializer(_PostSerializer):
    thread = serializers.UUIDField(source="thread_id")
    is_instructor_answer = serializers.BooleanField()


@extend_schema_serializer(component_name="DiscussionThreadDetail")
class ThreadDetailSerializer(serializers.Serializer):
    thread = ThreadSerializer()
    replies = serializers.DictField(
        help_text="The first page of replies: `count`, `next`, `previous`, `results` (as "
        "`/threads/<id>/replies/` answers)."
    )
    can_moderate = serializers.BooleanField()


class ThreadListApi(APIView):
    """A lesson's threads (pinned first, then by last activity), and starting one."""

    permission_classes = [IsAuthenticatedForWrites]
    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="DiscussionThreadCreate")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
        body = serializers.CharField(max_length=BODY_MAX_LENGTH, help_text="Markdown.")
        timestamp_seconds = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=0,
            help_text="A moment of the lesson's video, in seconds (video lessons only).",
        )

    @extend_schema(
        operation_id="lesson_threads_list",
        tags=[TAG],
        summary="List a lesson's discussion threads",
        responses={200: ThreadSerializer(many=True), **error_responses(400, 403, 404)},
    )
    def get(self, request: Request, lesson_id: str) -> Response:
        lesson = discussion_lesson_get(user=request.user, lesson_id=lesson_id)
        moderator = discussion_can_moderate(user=request.user, course=lesson.course)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            threads_list(lesson=lesson, moderator=moderator), request, view=self
        )
        data = ThreadSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="lesson_threads_create",
        tags=[TAG],
        summary="Start a discussion thread under a lesson",
        request=InputSerializer,
        responses={201: ThreadSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request: Request, lesson_id: str) -> Response:
        lesson = discussion_lesson_get(user=request.user, lesson_id=lesson_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_create(
            user=request.user, lesson=lesson, **serializer.validated_data
        )
        thread.reply_count = 0
        data = ThreadSerializer(thread, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


def _replies_page(request: Request, view: APIView, thread: Thread) -> Response:
    moderator = discussion_can_moderate(user=request.user, course=thread.lesson.course)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(
        replies_list(thread=thread, moderator=moderator), request, view=view
    )
    data = ReplySerializer(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


class ThreadDetailApi(APIView):
    """One thread with the first page of its replies; its author edits or deletes it (a
    moderator deletes it too)."""

    permission_classes = [IsAuthenticatedForWrites]

    @extend_schema_serializer(component_name="DiscussionThreadUpdate")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=TITLE_MAX_LENGTH, required=False)
        body = serializers.CharField(max_length=BODY_MAX_LENGTH, required=False)
        timestamp_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=0)

    @extend_schema(
        operation_id="threads_retrieve",
        tags=[TAG],
        summary="Read a thread and the first page of its replies",
        responses={200: ThreadDetailSerializer, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request, thread_id: str) -> Response:
        thread = thread_get(user=request.user, thread_id=thread_id)
        replies = _replies_page(request, self, thread).data
        thread.reply_count = replies["count"]
        return Response(
            {
                "thread": ThreadSerializer(thread, context={"request": request}).data,
                "replies": replies,
                "can_moderate": discussion_can_moderate(
                    user=request.user, course=thread.lesson.course
                ),
            }
        )

    @extend_schema(
        operation_id="threads_partial_update",
        tags=[TAG],
        summary="Edit my thread",
        request=InputSerializer,
        responses={200: ThreadSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, thread_id: str) -> Response:
        thread = thread_get(user=request.user, thread_id=thread_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        thread = services.post_edit(
            user=request.user,
            post=thread,
            body=values.get("body", thread.body),
            title=values.get("title"),
            timestamp_seconds=values.get("timestamp_seconds", services.UNCHANGED),
        )
        thread.reply_count = replies_list(thread=thread).count()
        return Response(ThreadSerializer(thread, context={"request": request}).data)

    @extend_schema(
        operation_id="threads_destroy",
        tags=[TAG],
        summary="Delete a thread (mine, or as a moderator)",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, thread_id: str) -> Response:
        thread = thread_get(user=request.user, thread_id=thread_id)
        services.post_delete(user=request.user, post=thread)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReplyListApi(APIView):
    """A thread's replies, oldest first, and replying."""

    permission_classes = [IsAuthenticatedForWrites]
    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="DiscussionReplyCreate")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=BODY_MAX_LENGTH, help_text="Markdown.")

    @extend_schema(
        operation_id="thread_replies_list",
        tags=[TAG],
        summary="List a thread's replies",
        responses={200: ReplySerializer(many=True), **error_responses(400, 403, 404)},
    )
    def get(self, request: Request, thread_id: str) -> Response:
        thread = thread_get(user=request.user, thread_id=thread_id)
        return _replies_page(request, self, thread)

    @extend_schema(
        operation_id="thread_replies_create",
        tags=[TAG],
        summary="Reply in a thread",
        request=InputSerializer,
        responses={201: ReplySerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    @transaction.atomic  # several changes in one request: all of them or none
    def post(self, request: Request, thread_id: str) -> Response:
        thread = thread_get(user=request.user, thread_id=thread_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reply = services.reply_create(
            user=request.user, thread=thread, body=serializer.validated_data["body"]
        )
        data = ReplySerializer(reply, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ReplyDetailApi(APIView):
    """Edit or delete my reply (a moderator deletes it too)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DiscussionReplyUpdate")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=BODY_MAX_LENGTH)

    @extend_schema(
        operation_id="replies_partial_update",
        tags=[TAG],
        summary="Edit my reply",
        request=InputSerializer,
        responses={200: ReplySerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, reply_id: str) -> Response:
        reply = reply_get(user=request.user, reply_id=reply_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reply = services.post_edit(
            user=request.user, post=reply, body=serializer.validated_data["body"]
        )
        return Response(ReplySerializer(reply, context={"request": request}).data)

    @extend_schema(
        operation_id="replies_destroy",
        tags=[TAG],
        summary="Delete a reply (mine, or as a moderator)",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, reply_id: str) -> Response:
        reply = reply_get(user=request.user, reply_id=reply_id)
        services.post_delete(user=request.user, post=reply)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ThreadModerateApi(APIView):
    """Pin, lock or hide a thread: moderators, the course's instructors and staff."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DiscussionThreadModerate")
    class InputSerializer(serializers.Serializer):
        is_pinned = serializers.BooleanField(required=False)
        is_locked = serializers.BooleanField(required=False)
        is_hidden = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="threads_moderate",
        tags=[TAG],
        summary="Moderate a thread (pin, lock, hide)",
        request=InputSerializer,
        responses={200: ThreadSerializer, **error_responses(400, 401, 403, 404)},
    )
    @transaction.atomic  # several changes in one request: all of them or none
    def post(self, request: Request, thread_id: str) -> Response:
        thread = thread_get(user=request.user, thread_id=thread_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        actor = request.user
        if "is_pinned" in values:
            services.thread_pin(actor=actor, thread=thread, pinned=values["is_pinned"])
        if "is_locked" in values:
            services.thread_lock(actor=actor, thread=thread, locked=values["is_locked"])
        if "is_hidden" in values:
            services.post_hide(actor=actor, post=thread, hidden=values["is_hidden"])
        if not values:
            services.thread_pin(actor=actor, thread=thread, pinned=thread.is_pinned)
        thread.reply_count = replies_list(thread=thread, moderator=True).count()
        return Response(ThreadSerializer(thread, context={"request": request}).data)


class ReplyModerateApi(APIView):
    """Hide a reply, or mark it as the instructors' answer (instructors and staff)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DiscussionReplyModerate")
    class InputSerializer(serializers.Serializer):
        is_hidden = serializers.BooleanField(required=False)
        is_instructor_answer = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="replies_moderate",
        tags=[TAG],
        summary="Moderate a reply (hide, mark as the instructors' answer)",
        request=InputSerializer,
        responses={200: ReplySerializer, **error_responses(400, 401, 403, 404)},
    )
    @transaction.atomic  # several changes in one request: all of them or none
    def post(self, request: Request, reply_id: str) -> Response:
        reply = reply_get(user=request.user, reply_id=reply_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        if "is_hidden" in values or not values:
            services.post_hide(
                actor=request.user, post=reply, hidden=values.get("is_hidden", reply.is_hidden)
            )
        if "is_instructor_answer" in values:
            services.reply_answer_mark(
                actor=request.user, reply=reply, marked=values["is_instructor_answer"]
            )
        return Response(ReplySerializer(reply, context={"request": request}).data)


@extend_schema_serializer(component_name="DiscussionReport")
class ReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    thread = serializers.UUIDField(source="thread_id", allow_null=True)
    reply = serializers.UUIDField(source="reply_id", allow_null=True)
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField()
    status = serializers.ChoiceField(choices=Report.Status.choices)
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DiscussionReportCreate")
class _ReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField(max_length=1000, required=False, allow_blank=True)


def _report(request: Request, post: Thread | Reply) -> Response:
    serializer = _ReportInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    report, created = services.report_create(
        user=request.user, post=post, **serializer.validated_data
    )
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return Response(ReportSerializer(report).data, status=code)


class ThreadReportApi(APIView):
    """Report a thread to the moderators (again while open: 200 with the same report)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="threads_report",
        tags=[TAG],
        summary="Report a thread",
        request=_ReportInput,
        responses={
            201: ReportSerializer,
            200: ReportSerializer,
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return _report(request, thread_get(user=request.user, thread_id=thread_id))


class ReplyReportApi(APIView):
    """Report a reply to the moderators (again while open: 200 with the same report)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="replies_report",
        tags=[TAG],
        summary="Report a reply",
        request=_ReportInput,
        responses={
            201: ReportSerializer,
            200: ReportSerializer,
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, reply_id: str) -> Response:
        return _report(request, reply_get(user=request.user, reply_id=reply_id))


urlpatterns = [
    path("lessons/<uuid:lesson_id>/threads/", ThreadListApi.as_view(), name="lesson-threads"),
    path("threads/<uuid:thread_id>/", ThreadDetailApi.as_view(), name="thread-detail"),
    path("threads/<uuid:thread_id>/replies/", ReplyListApi.as_view(), name="thread-replies"),
    path("threads/<uuid:thread_id>/moderate/", ThreadModerateApi.as_view(), name="thread-moderate"),
    path("threads/<uuid:thread_id>/report/", ThreadReportApi.as_view(), name="thread-report"),
    path("replies/<uuid:reply_id>/", ReplyDetailApi.as_view(), name="reply-detail"),
    path("replies/<uuid:reply_id>/moderate/", ReplyModerateApi.as_view(), name="reply-moderate"),
    path("replies/<uuid:reply_id>/report/", ReplyReportApi.as_view(), name="reply-report"),
]
