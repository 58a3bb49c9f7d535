"""The catalog's pages: home and the course list. The course and lesson pages show the
learner's progress too, so `progress.views` serves them."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import selectors
from catalog.forms import CatalogFilterForm
from catalog.models import Course
from catalog.search import lesson_hits_for
from lms.paging import page_get

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
    search = form.cleaned_data["q"]
    courses = selectors.course_list(
        search=search,
        course_type=form.cleaned_data["type"],
        difficulty=form.cleaned_data["difficulty"],
        user=request.user,
    )
    page = page_get(request=request, items=courses, per_page=settings.LMS_CATALOG_PAGE_SIZE)
    # The lessons found in each course of this page, one query for the page.
    page.object_list = list(page.object_list)
    hits = lesson_hits_for(courses=page.object_list, user=request.user, text=search)
    for course in page.object_list:
        course.search_hits = hits.get(course.pk)
    return render(
        request,
        "catalog/course_list.html",
        {
            "form": form,
            "page": page,
            "courses": page.object_list,
            "page_numbers": page.numbers,
        },
    )
