"""Catalog read API (`/api/v1/`): course list, course detail with outline, lesson detail.

One class per operation, each with its own nested serializers (`courses`, `lessons`); the
pieces they and other apps share are in `serializers`. Access is decided only by
`catalog.access`; a locked lesson answers 403 and its body never leaves the server.
"""

from django.urls import path

from catalog.api.courses import CourseDetailApi, CourseListApi
from catalog.api.lessons import LessonDetailApi
from catalog.api.serializers import (
    AccessSerializer,
    CourseFieldsSerializer,
    CourseRefSerializer,
    LessonHitSerializer,
    LessonRefSerializer,
    MarkdownHtmlField,
    OutlineLessonSerializer,
    OutlineSectionSerializer,
    SectionRefSerializer,
    StructureLockSerializer,
    TierRefSerializer,
)

__all__ = [
    "AccessSerializer",
    "CourseDetailApi",
    "CourseFieldsSerializer",
    "CourseListApi",
    "CourseRefSerializer",
    "LessonDetailApi",
    "LessonHitSerializer",
    "LessonRefSerializer",
    "MarkdownHtmlField",
    "OutlineLessonSerializer",
    "OutlineSectionSerializer",
    "SectionRefSerializer",
    "StructureLockSerializer",
    "TierRefSerializer",
    "urlpatterns",
]

urlpatterns = [
    path("courses/", CourseListApi.as_view(), name="course-list"),
    path("courses/<slug:slug>/", CourseDetailApi.as_view(), name="course-detail"),
    path("lessons/<uuid:lesson_id>/", LessonDetailApi.as_view(), name="lesson-detail"),
]
