"""The learner-facing pages. Each loads with selectors, asks `catalog.access`, and renders."""

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import selectors
from catalog.access import Reason, lesson_access
from catalog.forms import CatalogFilterForm
from catalog.models import Course
from lms.errors import ErrorCode, NotFoundError
from lms.markdown import render_markdown

HOME_COURSE_COUNT = 6


def home(request: HttpRequest) -> HttpResponse:
    courses = selectors.course_list()[:HOME_COURSE_COUNT]
    return render(
        request,
        "catalog/home.html",
        {"courses": courses, "course_types": Course.CourseType.choices},
    )


def course_list(request: HttpRequest) -> HttpResponse:
    form = CatalogFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "catalog/course_list.html", {"form": form}, status=400)
    courses = selectors.course_list(
        search=form.cleaned_data["q"],
        course_type=form.cleaned_data["type"],
        difficulty=form.cleaned_data["difficulty"],
    )
    paginator = Paginator(courses, settings.LMS_CATALOG_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage as error:
        raise NotFoundError(ErrorCode.PAGE_NOT_FOUND) from error
    return render(
        request,
        "catalog/course_list.html",
        {
            "form": form,
            "page": page,
            "courses": page.object_list,
            "page_numbers": paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        },
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
