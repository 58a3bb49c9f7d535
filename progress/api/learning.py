"""Learning API (`/api/v1/`): enrollment, join codes, progress and resume, lesson completion
and video heartbeats (offline sync is `progress.api.sync`, the dashboard and certificates
`progress.api.dashboard`).

One class per operation (enroll and unenroll share a path, hence one class with two methods),
each with its own nested serializers. Every read and write is about the requesting user:
no endpoint takes a user id, so a learner can only ever see or change their own progress.
The one public endpoint is certificate verification, by the certificate's code.
"""

import uuid
from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from catalog.api import CourseRefSerializer, LessonRefSerializer
from catalog.models import Course, Lesson
from catalog.selectors import course_get, lesson_get_by_id
from lms.api.schema import error_responses
from progress.models import Certificate, Enrollment, LessonProgress
from progress.selectors import (
    CourseProgress,
    course_progress_get,
    enrollment_list,
)
from progress.services import (
    course_join,
    enrollment_enroll,
    enrollment_unenroll,
    lesson_complete,
    lesson_position_save,
)
from progress.services.certificates import certificate_name_corrections_left

TAG = "learning"
CERTIFICATES_TAG = "certificates"

# What a sync result's `status` says; anything else the engine answers is an error code.


def absolute_url(request: Request | None, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


def is_enrolled(*, user: User, course: Course) -> bool:
    return enrollment_list(user=user).filter(course=course, unenrolled_at__isnull=True).exists()


# --- Pieces shared by several operations -------------------------------------------------


@extend_schema_serializer(component_name="Enrollment")
class EnrollmentSerializer(serializers.ModelSerializer):
    course = CourseRefSerializer()
    enrolled_at = serializers.DateTimeField(source="created_at")
    is_active = serializers.BooleanField(help_text="False once the learner has unenrolled.")

    class Meta:
        model = Enrollment
        fields = ["course", "source", "enrolled_at", "completed_at", "is_active"]
        read_only_fields = fields


class CertificateUrlMixin(serializers.Serializer):
    url = serializers.SerializerMethodField(help_text="The certificate's public page.")

    def get_url(self, certificate: Certificate) -> str:
        return absolute_url(self.context.get("request"), certificate.get_absolute_url())


@extend_schema_serializer(component_name="CertificateRef")
class CertificateRefSerializer(CertificateUrlMixin, serializers.Serializer):
    code = serializers.CharField()


@extend_schema_serializer(component_name="Certificate")
class CertificateSerializer(CertificateUrlMixin, serializers.Serializer):
    """One of the requesting user's certificates. `name_pending`: issued without a name (the
    account had none); it shows and downloads once the owner gives one
    (`POST /api/v1/me/certificates/{code}/name/`), which does not use up a correction."""

    code = serializers.CharField()
    course = CourseRefSerializer()
    issued_at = serializers.DateTimeField()
    learner_name = serializers.CharField(help_text="The name printed on it; empty while pending.")
    name_pending = serializers.BooleanField()
    name_corrections_left = serializers.SerializerMethodField(
        help_text="How many more times the owner may correct the name themselves."
    )

    def get_name_corrections_left(self, certificate: Certificate) -> int:
        return certificate_name_corrections_left(certificate=certificate)


@extend_schema_serializer(component_name="Resume")
class ResumeSerializer(serializers.Serializer):
    """Where Continue leads: the unfinished last lesson, else the next lesson still to do,
    with the video position in it."""

    # LessonRef reads `lesson.id`, `lesson.slug`, `lesson.title` of what it is given.
    lesson = LessonRefSerializer(source="*")
    position_seconds = serializers.FloatField()


@extend_schema_serializer(component_name="LearnerStatsView")
class StatsSerializer(serializers.Serializer):
    """XP, level and streaks as the learner sees them today, in their own time zone."""

    xp = serializers.IntegerField()
    level = serializers.IntegerField()
    level_start_xp = serializers.IntegerField()
    next_level_xp = serializers.IntegerField(
        allow_null=True, help_text="Where the next level starts; null at the top level."
    )
    level_percent = serializers.IntegerField(help_text="Progress through this level, 0-100.")
    current_streak = serializers.IntegerField(help_text="Days in a row, counting yesterday.")
    longest_streak = serializers.IntegerField()
    next_milestone = serializers.IntegerField(
        allow_null=True, help_text="The next streak length celebrated; null past the last."
    )
    active_today = serializers.BooleanField(help_text="Whether today already counts.")


# --- Enrollment ----------------------------------------------------------------------------


class CourseEnrollmentApi(APIView):
    """Enroll in a course (POST) or leave it (DELETE)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="courses_enroll",
        tags=[TAG],
        summary="Enroll in a course",
        description=(
            "One-click enrollment for courses the access policy opens to the user. 201 when "
            "the user was not enrolled (enrolling again after leaving keeps the earlier "
            "progress), 200 when already enrolled. Errors: 404 `COURSE_NOT_FOUND`, 403 "
            "`UPGRADE_REQUIRED` or `ENROLLMENT_NOT_ALLOWED` (archived course)."
        ),
        request=None,
        responses={
            200: EnrollmentSerializer,
            201: EnrollmentSerializer,
            **error_responses(401, 403, 404),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        course = course_get(user=request.user, slug=slug)
        was_enrolled = is_enrolled(user=request.user, course=course)
        enrollment = enrollment_enroll(user=request.user, course=course)
        return Response(
            EnrollmentSerializer(enrollment).data,
            status=status.HTTP_200_OK if was_enrolled else status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="courses_unenroll",
        tags=[TAG],
        summary="Leave a course",
        description=(
            "Progress, XP and certificates are kept; enrolling again resumes. Errors: 404 "
            "`COURSE_NOT_FOUND`, 409 `NOT_ENROLLED`."
        ),
        responses={204: None, **error_responses(401, 404, 409)},
    )
    def delete(self, request: Request, slug: str) -> Response:
        course = course_get(user=request.user, slug=slug)
        enrollment_unenroll(user=request.user, course=course)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CourseJoinApi(APIView):
    """Enroll by a course's join code."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CourseJoin")
    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(
            max_length=32, help_text="The course's join code; case and spaces are ignored."
        )

    @extend_schema(
        operation_id="courses_join",
        tags=[TAG],
        summary="Join a course by code",
        description=(
            "201 when the user was not enrolled, 200 when already enrolled. A join code "
            "enrolls; paid lessons still need the tier. Errors: 404 `JOIN_CODE_NOT_FOUND`, "
            "403 `ENROLLMENT_NOT_ALLOWED` (archived course)."
        ),
        request=InputSerializer,
        responses={
            200: EnrollmentSerializer,
            201: EnrollmentSerializer,
            **error_responses(400, 401, 403, 404),
        },
        examples=[OpenApiExample("Code", value={"code": "SALSA2024"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrolled_before = set(
            enrollment_list(user=request.user)
            .filter(unenrolled_at__isnull=True)
            .values_list("course_id", flat=True)
        )
        enrollment = course_join(user=request.user, code=data.validated_data["code"])
        return Response(
            EnrollmentSerializer(enrollment).data,
            status=(
                status.HTTP_200_OK
                if enrollment.course_id in enrolled_before
                else status.HTTP_201_CREATED
            ),
        )


# --- Progress in a course and in a lesson -------------------------------------------------


@extend_schema_serializer(component_name="LessonProgressItem")
class LessonProgressItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="lesson_id", help_text="The lesson's id.")
    status = serializers.ChoiceField(choices=LessonProgress.Status.choices)
    position_seconds = serializers.FloatField(help_text="The video position; 0 for others.")
    completed_at = serializers.DateTimeField(allow_null=True)


class CourseProgressApi(APIView):
    """The requesting learner's progress in one course."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CourseProgress")
    class OutputSerializer(serializers.Serializer):
        """Counts are over the course's published lessons. `lessons` lists only the lessons
        with progress (no entry means not started), most recently worked on first."""

        enrollment = EnrollmentSerializer(allow_null=True, help_text="Null if never enrolled.")
        percent = serializers.IntegerField(help_text="Whole percent of lessons completed.")
        completed_count = serializers.IntegerField()
        total_count = serializers.IntegerField()
        is_completed = serializers.BooleanField()
        certificate = CertificateRefSerializer(allow_null=True)
        resume = ResumeSerializer(
            allow_null=True,
            help_text="Null before any progress and once every lesson is completed.",
        )
        lessons = serializers.SerializerMethodField()

        @extend_schema_field(LessonProgressItemSerializer(many=True))
        def get_lessons(self, progress: CourseProgress) -> list[dict[str, Any]]:
            return LessonProgressItemSerializer(progress.rows.values(), many=True).data

    @extend_schema(
        operation_id="courses_progress_retrieve",
        tags=[TAG],
        summary="My progress in a course",
        description="Always the requesting user's own progress. Errors: 404 `COURSE_NOT_FOUND`.",
        responses={200: OutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        course = course_get(user=request.user, slug=slug)
        progress = course_progress_get(user=request.user, course=course)
        return Response(self.OutputSerializer(progress, context={"request": request}).data)


class LessonCompleteApi(APIView):
    """Mark a text or lab lesson as done."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="LessonCompletion")
    class OutputSerializer(serializers.Serializer):
        lesson = serializers.UUIDField(help_text="The lesson's id.")
        status = serializers.ChoiceField(choices=LessonProgress.Status.choices)
        xp_awarded = serializers.IntegerField(
            help_text="XP this request gave (lesson, boss and course bonuses); 0 on a repeat."
        )
        course_completed = serializers.BooleanField(
            help_text="Whether the course is completed, by this or an earlier request."
        )
        certificate = CertificateRefSerializer(
            allow_null=True, help_text="The course's certificate once it is completed."
        )

    @extend_schema(
        operation_id="lessons_complete",
        tags=[TAG],
        summary="Complete a lesson",
        description=(
            "For text and lab lessons; videos complete by watching, quizzes by passing. "
            "Idempotent by nature, so no `Idempotency-Key` is needed: completing again "
            "changes nothing and answers the same with `xp_awarded` 0. Errors: 404 "
            "`LESSON_NOT_FOUND`, 403 `LOGIN_REQUIRED` or `UPGRADE_REQUIRED`, 409 "
            "`COMPLETION_NOT_MANUAL`."
        ),
        request=None,
        responses={200: OutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, lesson_id: uuid.UUID) -> Response:
        # The engine's read of the lesson is the lookup (404, 403 and 409 as a lookup
        # first would answer): the lesson is read once.
        outcome = lesson_complete(user=request.user, lesson=lesson_id)
        lesson = outcome.lessons[lesson_id]
        # The answer comes from what the completion wrote: the course's lessons are not read
        # again; the certificate is, once, only for a course completed by an earlier request.
        row = outcome.events[0].progress
        enrollment = outcome.enrollments.get(lesson.course_id)
        completed = enrollment is not None and enrollment.completed_at is not None
        certificate = next(
            (item for item in outcome.certificates if item.course_id == lesson.course_id), None
        )
        if completed and certificate is None:
            certificate = Certificate.objects.filter(
                user=request.user, course_id=lesson.course_id
            ).first()
        data = {
            "lesson": lesson.pk,
            "status": row.status if row else LessonProgress.Status.NOT_STARTED,
            "xp_awarded": outcome.xp_awarded,
            "course_completed": completed,
            "certificate": certificate,
        }
        return Response(self.OutputSerializer(data, context={"request": request}).data)


def _watched_percent(row: LessonProgress | None, lesson: Lesson) -> int:
    if row is None or not lesson.duration_seconds:
        return 0
    return max(0, min(100, int(row.watched_seconds * 100 // lesson.duration_seconds)))


class LessonPositionApi(APIView):
    """A heartbeat from the video player: where it is now."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="LessonPosition")
    class InputSerializer(serializers.Serializer):
        position_seconds = serializers.FloatField(
            min_value=0, help_text="The player's position in seconds."
        )

    @extend_schema_serializer(component_name="LessonPositionSaved")
    class OutputSerializer(serializers.Serializer):
        lesson = serializers.UUIDField(help_text="The lesson's id.")
        status = serializers.ChoiceField(choices=LessonProgress.Status.choices)
        position_seconds = serializers.FloatField()
        watched_seconds = serializers.FloatField(help_text="Seconds of the video watched.")
        watched_percent = serializers.IntegerField(help_text="Share of the video watched.")
        xp_awarded = serializers.IntegerField(help_text="XP this heartbeat gave by completing.")

    @extend_schema(
        operation_id="lessons_position",
        tags=[TAG],
        summary="Save the video position",
        description=(
            "Send every few seconds while playing. Only stretches the player could have "
            "played since the previous heartbeat count as watched (seeking does not), and "
            f"the lesson completes once {settings.LMS_VIDEO_COMPLETE_THRESHOLD:.0%} of the "
            "video is watched. Errors: 404 `LESSON_NOT_FOUND`, 403 `LOGIN_REQUIRED` or "
            "`UPGRADE_REQUIRED`, 409 `POSITION_NOT_VIDEO`."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409)},
        examples=[OpenApiExample("Position", value={"position_seconds": 12.5}, request_only=True)],
    )
    def post(self, request: Request, lesson_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            # A missing lesson answers 404 before a bad body's 400; only then looked up.
            lesson_get_by_id(user=request.user, lesson_id=lesson_id)
            data.is_valid(raise_exception=True)
        # The engine's read of the lesson is the lookup, as in LessonCompleteApi.
        outcome = lesson_position_save(
            user=request.user,
            lesson=lesson_id,
            position_seconds=data.validated_data["position_seconds"],
        )
        lesson = outcome.lessons[lesson_id]
        row = outcome.events[0].progress
        body = {
            "lesson": lesson.pk,
            "status": row.status if row else LessonProgress.Status.NOT_STARTED,
            "position_seconds": row.position_seconds if row else 0.0,
            "watched_seconds": row.watched_seconds if row else 0.0,
            "watched_percent": _watched_percent(row, lesson),
            "xp_awarded": outcome.xp_awarded,
        }
        return Response(self.OutputSerializer(body).data)


urlpatterns = [
    # Before catalog's `courses/<slug>/` (lms/urls.py includes this API first).
    path("courses/join/", CourseJoinApi.as_view(), name="course-join"),
    path(
        "courses/<slug:slug>/enrollment/", CourseEnrollmentApi.as_view(), name="course-enrollment"
    ),
    path("courses/<slug:slug>/progress/", CourseProgressApi.as_view(), name="course-progress"),
    path("lessons/<uuid:lesson_id>/complete/", LessonCompleteApi.as_view(), name="lesson-complete"),
    path("lessons/<uuid:lesson_id>/position/", LessonPositionApi.as_view(), name="lesson-position"),
]
