"""My learning (`/learn/`) and the certificate pages (`/certificates/<code>/`, its PDF)."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from catalog.models import Lesson
from catalog.templatetags.catalog_tags import clock
from progress.certificates_pdf import (
    certificate_filename,
    certificate_issued_on,
    certificate_learner_name,
    certificate_pdf_render,
    issue_date_format,
)
from progress.models import Certificate
from progress.selectors import DashboardCourse, certificate_get, dashboard_get


@dataclass(frozen=True)
class CourseCard:
    """One course on the dashboard, with where its button leads."""

    item: DashboardCourse
    next_lesson: Lesson | None  # where Continue (or Start) leads; None when all are done
    resumed: bool  # True: "Continue" where they left off; False: "Start"
    position: str  # "3:12" into a video, or ""
    certificate: Certificate | None


def _cards(
    items: list[DashboardCourse], certificates: dict[uuid.UUID, Certificate]
) -> list[CourseCard]:
    cards = []
    for item in items:
        resumed, lesson = item.resumable, item.next_lesson
        at_video = resumed and lesson.kind == Lesson.Kind.VIDEO and item.resume_position >= 1
        cards.append(
            CourseCard(
                item=item,
                next_lesson=lesson,
                resumed=resumed,
                position=clock(item.resume_position) if at_video else "",
                certificate=certificates.get(item.course.pk),
            )
        )
    return cards


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """The learner's own courses, XP, level and streak: a fixed number of queries."""
    data = dashboard_get(user=request.user)
    stats = data.stats
    by_course = {certificate.course_id: certificate for certificate in data.certificates}
    return render(
        request,
        "progress/dashboard.html",
        {
            "in_progress": _cards(data.in_progress, by_course),
            "completed": [
                CourseCard(item, None, False, "", by_course.get(item.course.pk))
                for item in data.completed
            ],
            "certificates": data.certificates,
            "stats": stats,
            "xp_to_next_level": (
                stats.next_level_xp - stats.xp if stats.next_level_xp is not None else None
            ),
            "is_empty": not data.in_progress and not data.completed,
        },
    )


def _certificate_context(request: HttpRequest, certificate: Certificate) -> dict:
    issued_on = certificate_issued_on(certificate)
    return {
        "certificate": certificate,
        "learner_name": certificate_learner_name(certificate),
        "issued_on": issued_on,
        "issued_on_text": issue_date_format(issued_on),
        "verification_url": request.build_absolute_uri(certificate.get_absolute_url()),
        "is_owner": request.user.is_authenticated and request.user.pk == certificate.user_id,
    }


@require_safe
def certificate_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone with the code can verify the certificate. The code (12 random
    characters) is the secret; the page shows the frozen name and title, never the email."""
    certificate = certificate_get(code=code)
    return render(
        request, "progress/certificate_detail.html", _certificate_context(request, certificate)
    )


@require_safe
def certificate_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The certificate as a PDF download. Public by code, like the page: whoever may see the
    page may download what it shows, and nothing more (no email, no other certificate)."""
    certificate = certificate_get(code=code)
    pdf = certificate_pdf_render(
        certificate=certificate,
        verification_url=request.build_absolute_uri(certificate.get_absolute_url()),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=certificate_filename(certificate)
    )
    response["X-Robots-Tag"] = "noindex"
    return response


urlpatterns = [
    path("learn/", dashboard, name="dashboard"),
    path("certificates/<str:code>/", certificate_detail, name="certificate_detail"),
    path("certificates/<str:code>/pdf/", certificate_pdf, name="certificate_pdf"),
]
