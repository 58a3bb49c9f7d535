"""The learner's pages: the course and lesson pages (with progress), and invite redemption."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog import selectors
from catalog.access import Reason, course_is_visible, lesson_access
from lms.errors import ApplicationError
from lms.http import client_ip
from lms.markdown import render_markdown
from progress.forms import InviteRedeemForm
from progress.services import invite_redeem as invite_redeem_service


@login_required
@require_http_methods(["GET", "POST"])
def invite_redeem(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = InviteRedeemForm(initial={"code": request.GET.get("code", "").strip()})
        return render(request, "progress/invite_redeem.html", {"form": form})

    form = InviteRedeemForm(request.POST)
    error_code = None
    if form.is_valid():
        try:
            redemption = invite_redeem_service(
                code=form.cleaned_data["code"], user=request.user, ip_address=client_ip(request)
            )
        except ApplicationError as error:
            error_code = error.code
            form.add_error("code", error.message)
        else:
            course = redemption.invite.course
            if course is not None and course_is_visible(user=request.user, course=course):
                messages.success(
                    request,
                    _("Invite accepted: you are enrolled in %(course)s.") % {"course": course},
                )
                return redirect(course.get_absolute_url())
            messages.success(request, _("Invite accepted. Welcome!"))
            return redirect(reverse("catalog:home"))
    return render(
        request,
        "progress/invite_redeem.html",
        {"form": form, "error_code": error_code},
        status=400,
    )


def course_detail(request: HttpRequest, slug: str) -> HttpResponse:
    course = selectors.course_get(user=request.user, slug=slug)
    outline = selectors.course_outline_get(user=request.user, course=course)
    # Where the big button goes: the first lesson, or for a locked course its first preview.
    start = outline.first_lesson
    if outline.access.locked:
        start = next((item for item in outline.lessons if item.access.allowed), None)
    return render(
        request,
        "catalog/course_detail.html",
        {
            "course": course,
            "outline": outline,
            "start": start,
            "description": render_markdown(course.description),
            "needs_login": outline.access.reason == Reason.LOGIN_REQUIRED,
        },
    )


def lesson_detail(request: HttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    course = selectors.course_get(user=request.user, slug=course_slug)
    lesson = selectors.lesson_get(user=request.user, course=course, slug=lesson_slug)
    outline = selectors.course_outline_get(user=request.user, course=course)
    access = lesson_access(
        user=request.user, course=course, lesson=lesson, course_decision=outline.access
    )
    previous, following = outline.neighbours(lesson)
    context = {
        "course": course,
        "lesson": lesson,
        "outline": outline,
        "current": outline.find(lesson),
        "access": access,
        "previous": previous,
        "next": following,
        "needs_login": access.reason == Reason.LOGIN_REQUIRED,
    }
    if access.locked:
        # A separate template with no place for the notes, and they are never rendered here.
        return render(request, "catalog/lesson_locked.html", context, status=403)
    context["notes"] = render_markdown(lesson.body)
    return render(request, "catalog/lesson_detail.html", context)
