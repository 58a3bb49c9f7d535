"""The learner's dashboard and certificates (the verification endpoint is public)."""

from typing import Any

from django.urls import path
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import CourseRefSerializer, StructureLockSerializer
from catalog.api.outline import structure_lock_data
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from progress.api.learning import (
    CERTIFICATES_TAG,
    TAG,
    CertificateSerializer,
    CertificateUrlMixin,
    ResumeSerializer,
    StatsSerializer,
)
from progress.selectors import (
    DashboardCourse,
    NextStep,
    Resume,
    certificate_get,
    certificate_list,
    dashboard_get,
)

# --- Dashboard and certificates ------------------------------------------------------------


@extend_schema_serializer(component_name="DashboardCourse")
class DashboardCourseSerializer(serializers.Serializer):
    """`next_step` and `next_lesson` are what the course's button on "My learning" says and
    where it leads, so apps and the page agree: `resume` continues the lesson last opened
    while it is unfinished, `next` is the first lesson still to do in course order (required
    lessons first), `start` the first lesson,
    `review` means every lesson is completed (no lesson), `wait` that every lesson still to do
    is closed by the course's rules (no lesson; `waiting` says why and when the next opens);
    null while the course has none. No step leads to a lesson the rules keep closed, and the
    counts leave hidden lessons out, as completion does."""

    course = CourseRefSerializer()
    percent = serializers.IntegerField()
    completed_count = serializers.IntegerField()
    total_count = serializers.IntegerField()
    next_step = serializers.ChoiceField(choices=[step.value for step in NextStep], allow_null=True)
    next_lesson = serializers.SerializerMethodField()
    resume = serializers.SerializerMethodField()
    waiting = StructureLockSerializer(
        allow_null=True,
        help_text="With `next_step` `wait`: the lock of the first lesson still to do "
        "(`LOCKED_UNTIL` with `opens_at`, or `LOCKED_PREREQUISITE` with `requires`); else null.",
    )

    @extend_schema_field(ResumeSerializer(allow_null=True))
    def get_next_lesson(self, item: DashboardCourse) -> dict[str, Any] | None:
        if item.next_lesson is None:
            return None
        return ResumeSerializer(
            Resume(lesson=item.next_lesson, position_seconds=item.resume_position)
        ).data

    @extend_schema_field(
        ResumeSerializer(
            allow_null=True,
            help_text='Where "Continue" leads: `next_lesson` when the step is `resume` or '
            "`next`, else null (as `resume` in a course's progress).",
        )
    )
    def get_resume(self, item: DashboardCourse) -> dict[str, Any] | None:
        return self.get_next_lesson(item) if item.resumable else None


class DashboardApi(APIView):
    """Everything on "My learning" for the requesting user."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="Dashboard")
    class OutputSerializer(serializers.Serializer):
        """Courses are ordered by last activity, most recent first."""

        stats = StatsSerializer()
        in_progress = DashboardCourseSerializer(many=True)
        completed = DashboardCourseSerializer(many=True)
        certificates = CertificateSerializer(many=True)

    @extend_schema(
        operation_id="me_dashboard_retrieve",
        tags=[TAG],
        summary="My learning",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        dashboard = dashboard_get(user=request.user)
        # The serializers above are the schema; the courses, one dict each, are written
        # without a serializer per course (`_dashboard_course_data`), in the same shape.
        return Response(
            {
                "stats": StatsSerializer(dashboard.stats).data,
                "in_progress": [_dashboard_course_data(item) for item in dashboard.in_progress],
                "completed": [_dashboard_course_data(item) for item in dashboard.completed],
                "certificates": CertificateSerializer(
                    dashboard.certificates, many=True, context={"request": request}
                ).data,
            }
        )


def _dashboard_course_data(item: DashboardCourse) -> dict[str, Any]:
    """`DashboardCourseSerializer`'s JSON of one course, field for field, in order."""
    lesson = item.next_lesson
    next_lesson = (
        {
            "lesson": {"id": str(lesson.pk), "slug": lesson.slug, "title": lesson.title},
            "position_seconds": float(item.resume_position),
        }
        if lesson is not None
        else None
    )
    return {
        "course": {"slug": item.course.slug, "title": item.course.title},
        "percent": item.percent,
        "completed_count": item.completed_count,
        "total_count": item.total_count,
        "next_step": item.next_step.value if item.next_step is not None else None,
        "next_lesson": next_lesson,
        "resume": next_lesson if item.resumable else None,
        "waiting": structure_lock_data(item.waiting) if item.waiting is not None else None,
    }


class MyCertificateListApi(APIView):
    """The requesting user's certificates, newest first."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="me_certificates_list",
        tags=[CERTIFICATES_TAG],
        summary="My certificates",
        responses={200: CertificateSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(certificate_list(user=request.user), request, view=self)
        data = CertificateSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class CertificateVerifyApi(APIView):
    """Check a certificate by its code: public, the code is what the learner shares."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="CertificateVerification")
    class OutputSerializer(CertificateUrlMixin, serializers.Serializer):
        """What the certificate says, frozen when it was issued; never the learner's email."""

        code = serializers.CharField()
        learner_name = serializers.CharField(
            help_text="The name printed on it; empty while `name_pending`."
        )
        name_pending = serializers.BooleanField(
            help_text="Issued, but not shown yet: its owner has still to confirm the name."
        )
        course_title = serializers.CharField(help_text="The course's title when issued.")
        issued_at = serializers.DateTimeField()
        course = CourseRefSerializer()

    @extend_schema(
        operation_id="certificates_retrieve",
        tags=[CERTIFICATES_TAG],
        summary="Verify a certificate",
        description="No sign-in needed. Errors: 404 `CERTIFICATE_NOT_FOUND`.",
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, code: str) -> Response:
        certificate = certificate_get(code=code)
        return Response(self.OutputSerializer(certificate, context={"request": request}).data)


urlpatterns = [
    path("me/dashboard/", DashboardApi.as_view(), name="dashboard"),
    path("me/certificates/", MyCertificateListApi.as_view(), name="my-certificates"),
    path("certificates/<str:code>/", CertificateVerifyApi.as_view(), name="certificate-detail"),
]
