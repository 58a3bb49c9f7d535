"""Announcements API (`/api/v1/courses/<slug>/announcements/`, `/api/v1/announcements/<id>/`).

Learners who may open a course read its published announcements; its instructors and staff
write them (for staff tools and apps). Publishing notifies the learners and posts to the
course's chat once (`community.services.announcements`).
"""

import uuid
from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import MarkdownHtmlField
from catalog.selectors import course_get
from community.models import Announcement
from community.services.announcements import (
    announcement_create,
    announcement_get_for_editor,
    announcement_list,
    announcement_publish,
)
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses

TAG = "announcements"


@extend_schema_serializer(component_name="Announcement")
class AnnouncementSerializer(serializers.ModelSerializer):
    course = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author = serializers.SerializerMethodField(help_text="The author's display name.")
    body_html = MarkdownHtmlField(source="body")

    class Meta:
        model = Announcement
        fields = ["id", "course", "title", "body", "body_html", "author", "status", "published_at"]
        read_only_fields = fields

    def get_author(self, announcement: Announcement) -> str:
        author = announcement.author
        return (author.display_name or "") if author is not None else ""


class CourseAnnouncementsApi(APIView):
    """A course's announcements: read them, or (its editors) write one."""

    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="AnnouncementCreate")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        body = serializers.CharField(
            required=False, allow_blank=True, max_length=20_000, help_text="Markdown."
        )
        publish = serializers.BooleanField(
            default=True, help_text="Publish at once (the default), or keep a draft."
        )
        client_id = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="Makes a retried create safe: the same id is stored once per course.",
        )

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        operation_id="courses_announcements_list",
        tags=[TAG],
        summary="List a course's announcements",
        description=(
            "Published announcements, newest first, for whoever the access policy lets open "
            "the course's lessons: 403 LOGIN_REQUIRED or UPGRADE_REQUIRED otherwise."
        ),
        responses={200: AnnouncementSerializer(many=True), **error_responses(403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        course = course_get(user=request.user, slug=slug)
        announcements = announcement_list(user=request.user, course=course)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(announcements, request, view=self)
        return paginator.get_paginated_response(AnnouncementSerializer(page, many=True).data)

    @extend_schema(
        operation_id="courses_announcements_create",
        tags=[TAG],
        summary="Write an announcement to a course's learners",
        description=(
            "For the course's instructors and staff (403 ANNOUNCEMENT_NOT_ALLOWED for anyone "
            "else). Published at once unless `publish` is false: every learner enrolled who "
            "may open the course gets a notification (emailed by their preferences), and the "
            "course's chat channel shows it. 201 with the announcement; 200 with the same "
            "body when `client_id` was already used."
        ),
        request=InputSerializer,
        responses={
            201: AnnouncementSerializer,
            200: AnnouncementSerializer,
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        course = course_get(user=request.user, slug=slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client_id = data.validated_data.get("client_id")
        known = client_id is not None and course.announcements.filter(client_id=client_id).exists()
        announcement = announcement_create(
            course=course,
            author=request.user,
            title=data.validated_data["title"],
            body=data.validated_data.get("body", ""),
            publish=data.validated_data["publish"],
            client_id=client_id,
        )
        return Response(
            AnnouncementSerializer(announcement).data,
            status=status.HTTP_200_OK if known else status.HTTP_201_CREATED,
        )


class AnnouncementPublishApi(APIView):
    """Publish a draft announcement (idempotent)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="announcements_publish",
        tags=[TAG],
        summary="Publish an announcement",
        description=(
            "For the course's instructors and staff (404 ANNOUNCEMENT_NOT_FOUND for anyone "
            "else). Publishing a published announcement changes nothing and sends nothing."
        ),
        request=None,
        responses={200: AnnouncementSerializer, **error_responses(401, 404)},
    )
    def post(self, request: Request, announcement_id: uuid.UUID) -> Response:
        announcement = announcement_get_for_editor(
            user=request.user, announcement_id=announcement_id
        )
        announcement = announcement_publish(announcement=announcement, actor=request.user)
        return Response(AnnouncementSerializer(announcement).data)


urlpatterns = [
    path(
        "courses/<slug:slug>/announcements/",
        CourseAnnouncementsApi.as_view(),
        name="course_announcements",
    ),
    path(
        "announcements/<uuid:announcement_id>/publish/",
        AnnouncementPublishApi.as_view(),
        name="announcement_publish",
    ),
]
