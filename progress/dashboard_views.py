"""My learning (`/learn/`); the certificate pages are `progress.certificate_views`."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from catalog.models import Lesson
from catalog.templatetags.catalog_tags import clock
from progress.models import Certificate
from progress.paths.selectors import path_certificates_of
from progress.selectors import DashboardCourse, dashboard_get


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
    """The learner's own courses, XP, level, streak and certificates (of courses and
    learning paths): a fixed number of queries."""
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
            "path_certificates": list(path_certificates_of(user=request.user)),
            "stats": stats,
            "xp_to_next_level": (
                stats.next_level_xp - stats.xp if stats.next_level_xp is not None else None
            ),
            "is_empty": not data.in_progress and not data.completed,
        },
    )


urlpatterns = [
    path("learn/", dashboard, name="dashboard"),
]
