"""Showcase pages: `/projects/` (approved projects: search, filters, pages), a project's page,
and the author's own pages: submit, edit, delete and restore, "My projects".

Thin: load with the selectors, call a service, redirect. An invalid form is shown again with
its errors at 400; a refusal that is no form's business (not found, not yours) answers with
its own page, and one about the project's state (approved, restore window past) comes back
as a message on the page it was asked from.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import Course
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from lms.markdown import render_markdown
from lms.paging import page_get
from showcase import services
from showcase.forms import ProjectFilterForm, ProjectForm, link_formset
from showcase.models import Project
from showcase.selectors import (
    project_can_edit,
    project_course_choices,
    project_filter_courses,
    project_get,
    project_get_deleted,
    project_is_mine,
    project_is_staff_viewer,
    project_restorable_until,
    projects_of_user,
    projects_public_list,
    tags_list,
    visible_course_ids,
)
from showcase.services import LinkSpec

PROJECTS_PER_PAGE = 12
MINE_PER_PAGE = 20


def _signed_in_or_login(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


def project_list(request: HttpRequest) -> HttpResponse:
    form = ProjectFilterForm(request.GET, courses=project_filter_courses(), tags=tags_list())
    if not form.is_valid():
        return render(request, "showcase/project_list.html", {"form": form}, status=400)
    filters = form.filters()
    page = page_get(
        request=request, items=projects_public_list(**filters), per_page=PROJECTS_PER_PAGE
    )
    page.object_list = list(page.object_list)
    courses_shown = visible_course_ids(user=request.user, projects=page.object_list)
    for project in page.object_list:
        project.course_shown = project.course_id in courses_shown
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "projects": page.object_list,
        "page_numbers": page.numbers,
    }
    return render(request, "showcase/project_list.html", context)


def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_get(user=request.user, slug=slug)
    user = request.user
    context = {
        "project": project,
        "detail_html": render_markdown(project.detail),
        "course_shown": project.course_id in visible_course_ids(user=user, projects=[project]),
        "is_mine": project_is_mine(user=user, project=project),
        "can_edit": project_can_edit(user=user, project=project),
        "is_staff_viewer": project_is_staff_viewer(user=user),
    }
    return render(request, "showcase/project_detail.html", context)


def _form(request: HttpRequest, project: Project | None = None) -> tuple[ProjectForm, Any]:
    """The project form and its links, bound to the POST when there is one."""
    user = request.user
    courses = project_course_choices(user=user)
    if project is not None and project.course_id:
        # A course the learner has left since stays theirs to keep.
        kept = Q(pk__in=courses.values("pk")) | Q(pk=project.course_id)
        courses = Course.objects.filter(kept).order_by("title")
    initial, links = {}, None
    if project is not None:
        initial = {
            "title": project.title,
            "summary": project.summary,
            "course": project.course,
            "tags": list(project.tags.all()),
            "detail": project.detail,
        }
        links = [LinkSpec(label=link.label, url=link.url) for link in project.links.all()]
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    form = ProjectForm(
        data,
        files,
        initial=initial,
        courses=courses,
        tags=tags_list(),
        course_required=not project_is_staff_viewer(user=user),
    )
    return form, link_formset(data=data, links=links)


def _errors_to_form(form: ProjectForm, formset, exc: ValidationError) -> None:
    """A service's refusal, beside the fields it names (`links.<n>.<field>` in the links)."""
    for name, errors in exc.message_dict.items():
        parts = name.split(".")
        if parts[0] == "links" and len(parts) == 3 and parts[1].isdigit():
            row = [f for f in formset.forms if f.cleaned_data.get("url")][int(parts[1])]
            for error in errors:
                row.add_error(parts[2], error)
            continue
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


def _form_page(request: HttpRequest, context: dict, *, status: int) -> HttpResponse:
    return render(request, "showcase/project_form.html", context, status=status)


def _submitted_message(request: HttpRequest, project: Project) -> None:
    if project.status == Project.Status.SUBMITTED:
        messages.success(request, _("Thank you! Staff review your project before it is public."))
    elif project.status == Project.Status.DRAFT:
        messages.success(request, _("Saved as a draft: only you can see it."))
    else:
        messages.success(request, _("Your changes are saved."))


@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    if redirect := _signed_in_or_login(request):
        return redirect
    form, formset = _form(request)
    context = {"form": form, "formset": formset, "project": None}
    if request.method == "GET":
        return _form_page(request, context, status=200)
    if not (form.is_valid() and formset.is_valid()):
        return _form_page(request, context, status=400)
    values = form.cleaned_data
    try:
        project, _created = services.project_create(
            author=request.user,
            title=values["title"],
            summary=values["summary"],
            detail=values["detail"],
            course=values["course"],
            tags=values["tags"],
            links=formset.links(),
            thumbnail=form.thumbnail_file,
            submit=request.POST.get("action") != "draft",
        )
    except ValidationError as exc:
        _errors_to_form(form, formset, exc)
        return _form_page(request, context, status=400)
    _submitted_message(request, project)
    return HttpResponseRedirect(project.get_absolute_url())


@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, slug: str) -> HttpResponse:
    if redirect := _signed_in_or_login(request):
        return redirect
    project = project_get(user=request.user, slug=slug)
    if not project_can_edit(user=request.user, project=project):
        if not project_is_mine(user=request.user, project=project):
            raise AccessDeniedError(ErrorCode.PROJECT_NOT_YOURS)
        messages.error(request, _("This project is approved and public: ask staff to change it."))
        return HttpResponseRedirect(project.get_absolute_url())
    form, formset = _form(request, project)
    context = {"form": form, "formset": formset, "project": project}
    if request.method == "GET":
        return _form_page(request, context, status=200)
    if not (form.is_valid() and formset.is_valid()):
        return _form_page(request, context, status=400)
    values = form.cleaned_data
    action = request.POST.get("action")
    try:
        with transaction.atomic():  # the text and the picture together, or neither
            project = services.project_update(
                actor=request.user,
                project=project,
                title=values["title"],
                summary=values["summary"],
                detail=values["detail"],
                course=values["course"],
                tags=values["tags"],
                links=formset.links(),
                submit={"submit": True, "draft": False}.get(action),
            )
            if form.thumbnail_file is not None or values["remove_thumbnail"]:
                services.project_thumbnail_set(
                    actor=request.user, project=project, thumbnail=form.thumbnail_file
                )
    except ValidationError as exc:
        _errors_to_form(form, formset, exc)
        return _form_page(request, context, status=400)
    _submitted_message(request, project)
    return HttpResponseRedirect(project.get_absolute_url())


@require_POST
def project_delete(request: HttpRequest, slug: str) -> HttpResponse:
    if redirect := _signed_in_or_login(request):
        return redirect
    project = project_get(user=request.user, slug=slug)
    project = services.project_delete(actor=request.user, project=project)
    if project_is_mine(user=request.user, project=project):
        until = project_restorable_until(project=project)
        messages.success(
            request,
            _("“%(title)s” is deleted. You can restore it here until %(date)s.")
            % {"title": project.title, "date": until.date().isoformat()},
        )
        return HttpResponseRedirect(reverse("showcase:my_projects"))
    messages.success(request, _("“%(title)s” is deleted.") % {"title": project.title})
    return HttpResponseRedirect(reverse("showcase:project_list"))


@require_POST
def project_restore(request: HttpRequest, slug: str) -> HttpResponse:
    if redirect := _signed_in_or_login(request):
        return redirect
    project = project_get_deleted(user=request.user, slug=slug)
    try:
        services.project_restore(actor=request.user, project=project)
    except (NotFoundError, AccessDeniedError):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("showcase:my_projects"))
    messages.success(request, _("“%(title)s” is back.") % {"title": project.title})
    return HttpResponseRedirect(project.get_absolute_url())


def my_projects(request: HttpRequest) -> HttpResponse:
    if redirect := _signed_in_or_login(request):
        return redirect
    page = page_get(
        request=request, items=projects_of_user(user=request.user), per_page=MINE_PER_PAGE
    )
    page.object_list = list(page.object_list)
    for project in page.object_list:
        project.restorable_until = project_restorable_until(project=project)
        project.can_restore = project.restorable_until is not None and (
            timezone.now() <= project.restorable_until
        )
        project.can_edit = project_can_edit(user=request.user, project=project)
    context = {
        "page": page,
        "projects": page.object_list,
        "page_numbers": page.numbers,
        "restore_days": settings.LMS_SHOWCASE_RESTORE_DAYS,
    }
    return render(request, "showcase/my_projects.html", context)
