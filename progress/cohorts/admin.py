"""Admin for this package: registered on import from `progress.admin`.

Cohorts are edited like any course record: staff see every course's, instructors only the
cohorts of the courses they teach (`catalog.admin.InstructorScopeMixin`: another course's
cohort "does not exist", its "Add learners" page included). Every write goes through
`progress.cohorts.services`: creating and editing a cohort, the "Add learners" paste, and
removing members (ticking "delete" on a member row takes them out of the cohort, it does not
unenroll them).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.admin import InstructorScopeMixin
from lms.errors import ApplicationError
from lms.http import client_ip
from progress.cohorts.forms import CohortAddLearnersForm
from progress.cohorts.selectors import cohorts_with_member_count
from progress.cohorts.services import (
    CohortAddResult,
    cohort_create,
    cohort_member_remove,
    cohort_members_add,
    cohort_update,
)
from progress.models import Cohort, CohortMembership


def _take_identity(source: Cohort, target: Cohort) -> None:
    """Make the admin's unsaved `target` the row the service saved (log entry, redirect)."""
    for field in Cohort._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


class CohortMembershipInline(admin.TabularInline):
    model = CohortMembership
    fields = ("learner", "created_at", "added_by")
    readonly_fields = fields
    extra = 0
    show_change_link = False
    verbose_name_plural = _("members")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # learners are added with "Add learners", which enrolls and invites

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CohortMembership]:
        return super().get_queryset(request).select_related("user", "added_by")

    @admin.display(description=_("learner"))
    def learner(self, membership: CohortMembership) -> str:
        user = membership.user
        if user.display_name:
            return format_html("{} <small>{}</small>", user.display_name, user.email)
        return user.email


@admin.register(Cohort)
class CohortAdmin(InstructorScopeMixin, admin.ModelAdmin):
    course_path = "course"
    change_form_template = "admin/progress/cohort/change_form.html"
    list_display = ("name", "course", "starts_on", "ends_on", "member_count", "add_learners_link")
    list_filter = ("course",)
    list_select_related = ("course",)
    search_fields = ("name", "course__title")
    autocomplete_fields = ("course",)
    date_hierarchy = "starts_on"
    fields = ("course", "name", "starts_on", "ends_on")
    inlines = [CohortMembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cohort]:
        return cohorts_with_member_count(super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Cohort | None = None) -> tuple:
        # Members are enrolled in the course and invites name it: the course stays.
        return ("course",) if obj is not None else ()

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, cohort: Cohort) -> int:
        return getattr(cohort, "member_count", 0)

    @admin.display(description=_("add learners"))
    def add_learners_link(self, cohort: Cohort) -> str:
        return format_html(
            '<a href="{}">{}</a>', self.add_learners_url(cohort), gettext("Add learners")
        )

    @staticmethod
    def add_learners_url(cohort: Cohort) -> str:
        return reverse("admin:progress_cohort_add_learners", args=[cohort.pk])

    # --- writes through the services ----------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Cohort, form: ModelForm, change: bool) -> None:
        # The model form has already checked the constraints the services check again.
        data = form.cleaned_data
        if change:
            saved = cohort_update(
                cohort=obj,
                name=data["name"],
                starts_on=data["starts_on"],
                ends_on=data.get("ends_on"),
                clear_ends_on=data.get("ends_on") is None,
            )
        else:
            saved = cohort_create(
                actor=request.user,
                course=data["course"],
                name=data["name"],
                starts_on=data["starts_on"],
                ends_on=data.get("ends_on"),
            )
        _take_identity(saved, obj)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool):
        if formset.model is not CohortMembership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # collects the rows ticked for deletion, deletes nothing
        for membership in formset.deleted_objects:
            cohort_member_remove(actor=request.user, cohort=form.instance, user=membership.user)
        return None

    # --- "Add learners" -----------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        add_learners = path(
            "<path:object_id>/add-learners/",
            self.admin_site.admin_view(self.add_learners_view),
            name="progress_cohort_add_learners",
        )
        # Before the defaults, whose "<path:object_id>/" would swallow this URL.
        return [add_learners, *super().get_urls()]

    def add_learners_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        cohort = self.get_object(request, unquote(object_id))
        if cohort is None:
            raise Http404(gettext("No cohort with this id."))
        if not self.has_change_permission(request, cohort):
            raise PermissionDenied
        result: CohortAddResult | None = None
        if request.method == "POST":
            form = CohortAddLearnersForm(request.POST)
            if form.is_valid():
                try:
                    result = cohort_members_add(
                        actor=request.user,
                        cohort=cohort,
                        text_or_emails=form.cleaned_data["addresses"],
                        ip_address=client_ip(request),
                        request=request,
                    )
                except ApplicationError as error:
                    form.add_error("addresses", error.message)
                else:
                    form = CohortAddLearnersForm()
        else:
            form = CohortAddLearnersForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Add learners to %(cohort)s") % {"cohort": cohort.name},
            "cohort": cohort,
            "form": form,
            "result": result,
            "in_other_cohort": sorted(result.in_other_cohort.items()) if result else [],
            "change_url": reverse("admin:progress_cohort_change", args=[cohort.pk]),
            "bulk_max": settings.LMS_COHORT_BULK_MAX,
        }
        status = 400 if request.method == "POST" and form.errors else 200
        return TemplateResponse(
            request, "admin/progress/cohort/add_learners.html", context, status=status
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if object_id is not None:
            extra_context["add_learners_url"] = reverse(
                "admin:progress_cohort_add_learners", args=[unquote(object_id)]
            )
        return super().changeform_view(request, object_id, form_url, extra_context)
