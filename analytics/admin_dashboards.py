"""The analytics dashboards in the admin: "Analytics › Course dashboards" lists the courses
a user may open a dashboard for, each course has its dashboard, and staff have the school's.

Who sees what, by role (`accounts.roles`) and `Course.instructors`:
- instructors: the courses they teach, nothing else (another course "does not exist": 404,
  its CSV too); not the school dashboard (403);
- staff: every course and the school dashboard;
- everyone else: nothing. Learners never enter the admin (its sign-in page), and
  staff-status accounts without either role (moderators) are refused (403).
Permissions come from the role rather than model permissions: the dashboard is a read of
the course, narrowed like the rest of the instructors' admin, and grants no write.

Every chart reads `analytics.selectors` for the period of the date range form (and, on a
course's dashboard, the cohort chosen in it: `?cohort=<id>`, one of this course's cohorts;
another course's is a form error, a 400 for a CSV); every chart has its table on the page
and its CSV (the same numbers) at `<chart>.csv`.
"""

from __future__ import annotations

import csv
from uuid import UUID

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Role, user_has_staff_role, user_role_get
from analytics import dashboards, selectors
from analytics.dashboards import CourseChoices, DateRangeForm, Panel, period_label, period_query
from analytics.models import CourseDashboard
from catalog.models import Course
from progress.models import Cohort

DASHBOARD_ROLES = (Role.INSTRUCTOR, Role.STAFF)


def _csv_response(panel: Panel, *, filename: str) -> HttpResponse:
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    csv.writer(response).writerows(panel.csv_rows())
    return response


@admin.register(CourseDashboard)
class CourseDashboardAdmin(admin.ModelAdmin):
    """The index of course dashboards (a changelist of the courses one may see) and the
    dashboard views themselves (`get_urls`)."""

    list_display = ("dashboard_link", "status", "published_at")
    list_display_links = None
    list_filter = ("status",)
    search_fields = ("title",)
    ordering = ("title",)
    change_list_template = "analytics/dashboard_index.html"

    # --- who may see what ----------------------------------------------------------------
    @staticmethod
    def may_see_dashboards(request: HttpRequest) -> bool:
        return user_role_get(request.user) in DASHBOARD_ROLES

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        queryset = super().get_queryset(request)
        if user_has_staff_role(request.user):
            return queryset
        return queryset.filter(instructors=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.may_see_dashboards(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if not self.may_see_dashboards(request):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def _course_or_404(self, request: HttpRequest, course_id: UUID) -> Course:
        if not self.may_see_dashboards(request):
            raise PermissionDenied
        course = self.get_queryset(request).filter(pk=course_id).first()
        if course is None:
            raise Http404(_("No course dashboard with this id."))
        return course

    def _school_or_403(self, request: HttpRequest) -> None:
        if not user_has_staff_role(request.user):
            raise PermissionDenied

    # --- the index ---------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("course"), ordering="title")
    def dashboard_link(self, obj: Course) -> str:
        url = reverse("admin:analytics_coursedashboard_dashboard", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.title)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra = {
            "school_dashboard_url": reverse("admin:analytics_coursedashboard_school")
            if user_has_staff_role(request.user)
            else "",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # There is nothing to change here: a course's row opens its dashboard.
        try:
            course_id = UUID(object_id)
        except ValueError as error:
            raise Http404 from error
        course = self._course_or_404(request, course_id)
        return HttpResponseRedirect(
            reverse("admin:analytics_coursedashboard_dashboard", args=[course.pk])
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = "analytics_coursedashboard"
        return [
            path("school/", wrap(self.school_view), name=f"{name}_school"),
            path("school/<slug:chart>.csv", wrap(self.school_csv_view), name=f"{name}_school_csv"),
            path("<uuid:course_id>/dashboard/", wrap(self.course_view), name=f"{name}_dashboard"),
            path(
                "<uuid:course_id>/<slug:chart>.csv", wrap(self.course_csv_view), name=f"{name}_csv"
            ),
            *super().get_urls(),
        ]

    # --- a course's dashboard ------------------------------------------------------------
    def _course_form(self, request: HttpRequest, choices: CourseChoices, data) -> DateRangeForm:
        return DateRangeForm(
            data,
            today=selectors.today(),
            videos=choices.videos,
            quizzes=choices.quizzes,
            cohorts=choices.cohorts,
        )

    def course_view(self, request: HttpRequest, course_id: UUID) -> HttpResponse:
        course = self._course_or_404(request, course_id)
        choices = CourseChoices.of(course.pk)
        form = self._course_form(request, choices, request.GET or None)
        period = form.period()
        cohort = choices.cohort(form.chosen_cohort())
        panels = [
            dashboards.course_panel(
                key,
                course_id=course.pk,
                period=period,
                choices=choices,
                video_id=form.chosen("video"),
                quiz_id=form.chosen("quiz"),
                cohort_id=cohort.pk if cohort else None,
            )
            for key in dashboards.COURSE_PANELS
        ]
        csv_url = lambda key: reverse(  # noqa: E731
            "admin:analytics_coursedashboard_csv", args=[course.pk, key]
        )
        return self._render(
            request,
            "analytics/dashboard_course.html",
            title=_("Dashboard: %(course)s") % {"course": course.title},
            form=form,
            period=period,
            panels=[p for p in panels if p],
            csv_url=csv_url,
            cohort=cohort,
            extra={"course": course, "choices": choices, "cohort": cohort},
        )

    def course_csv_view(self, request: HttpRequest, course_id: UUID, chart: str) -> HttpResponse:
        course = self._course_or_404(request, course_id)
        if chart not in dashboards.COURSE_PANELS:
            raise Http404
        choices = CourseChoices.of(course.pk)
        data = request.GET.copy()
        lesson = data.pop("lesson", [""])[-1]
        data.setlist("video" if chart in {"retention", "segments"} else "quiz", [lesson])
        form = self._course_form(request, choices, data)
        if not form.is_valid():
            return _form_errors_response(form)
        lesson_id = form.cleaned_data.get("video") or form.cleaned_data.get("quiz")
        cohort_id = form.chosen_cohort()
        panel = dashboards.course_panel(
            chart,
            course_id=course.pk,
            period=form.period(),
            choices=choices,
            video_id=lesson_id,
            quiz_id=lesson_id,
            cohort_id=cohort_id,
        )
        if panel is None:
            raise Http404(_("Choose a lesson of this course (lesson=...)."))
        period = form.period()
        cohort_part = f"-cohort-{cohort_id}" if cohort_id is not None else ""
        return _csv_response(
            panel, filename=f"{course.slug}-{chart}{cohort_part}-{period.start}-{period.end}.csv"
        )

    # --- the school's dashboard ----------------------------------------------------------
    def school_view(self, request: HttpRequest) -> HttpResponse:
        self._school_or_403(request)
        form = DateRangeForm(request.GET or None, today=selectors.today())
        period = form.period()
        tiers = selectors.subscription_series(period=period)
        panels = [
            dashboards.school_panel(key, period=period, tiers=tiers)
            for key in dashboards.SCHOOL_PANELS
        ]
        return self._render(
            request,
            "analytics/dashboard_school.html",
            title=_("School dashboard"),
            form=form,
            period=period,
            panels=[p for p in panels if p],
            csv_url=lambda key: reverse("admin:analytics_coursedashboard_school_csv", args=[key]),
        )

    def school_csv_view(self, request: HttpRequest, chart: str) -> HttpResponse:
        self._school_or_403(request)
        if chart not in dashboards.SCHOOL_PANELS:
            raise Http404
        form = DateRangeForm(request.GET, today=selectors.today())
        if not form.is_valid():
            return _form_errors_response(form)
        period = form.period()
        panel = dashboards.school_panel(chart, period=period)
        return _csv_response(panel, filename=f"school-{chart}-{period.start}-{period.end}.csv")

    # --- rendering -----------------------------------------------------------------------
    def _render(
        self,
        request: HttpRequest,
        template: str,
        *,
        title: str,
        form: DateRangeForm,
        period: selectors.Period,
        panels: list[Panel],
        csv_url,
        cohort: Cohort | None = None,
        extra: dict | None = None,
    ) -> TemplateResponse:
        shown = []
        for panel in panels:
            lesson = {"lesson": panel.lesson_id} if panel.lesson_id else {}
            if cohort is not None:
                lesson["cohort"] = str(cohort.pk)
            shown.append((panel, f"{csv_url(panel.key)}?{period_query(period, **lesson)}"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "period": period,
            "period_label": period_label(period),
            "max_days": dashboards.MAX_PERIOD_DAYS,
            "time_zone": settings.LMS_ANALYTICS_TIME_ZONE,
            "panels": shown,
            "index_url": reverse("admin:analytics_coursedashboard_changelist"),
            "school_dashboard_url": reverse("admin:analytics_coursedashboard_school")
            if user_has_staff_role(request.user)
            else "",
            **(extra or {}),
        }
        return TemplateResponse(request, template, context)


def _form_errors_response(form: DateRangeForm) -> HttpResponse:
    lines = [f"{field}: {error}" for field, errors in form.errors.items() for error in errors]
    return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
