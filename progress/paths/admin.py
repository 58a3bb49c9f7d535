"""Learning paths in the admin: a path with its courses in order (an inline), and the path
certificates (read only). Registered on import from `progress.admin`.

Staff only: the instructors' group holds no permission on these models (`accounts.roles`),
since a path spans courses of several instructors. Saving goes through the services, so a
path published, or given courses, issues the certificates of learners who already completed
them all.
"""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from lms.admin import ReadOnlyAdminMixin
from progress.paths.models import LearningPath, LearningPathCourse, PathCertificate
from progress.paths.services import path_courses_set, path_create, path_update

_PATH_FIELDS = ("title", "slug", "summary", "description", "status")


class LearningPathCourseInline(admin.TabularInline):
    model = LearningPathCourse
    fields = ("order", "course")
    autocomplete_fields = ("course",)
    extra = 1
    ordering = ("order",)
    verbose_name = _("course")
    verbose_name_plural = _("courses, in the order to take them")


@admin.register(LearningPath)
class LearningPathAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "status", "course_count", "certificate_count", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "slug", "summary")
    prepopulated_fields = {"slug": ("title",)}
    fields = _PATH_FIELDS
    inlines = [LearningPathCourseInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LearningPath]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                step_count=Count("steps", distinct=True),
                issued_count=Count("certificates", distinct=True),
            )
        )

    @admin.display(description=_("courses"), ordering="step_count")
    def course_count(self, path: LearningPath) -> int:
        return path.step_count

    @admin.display(description=_("certificates"), ordering="issued_count")
    def certificate_count(self, path: LearningPath) -> int:
        return path.issued_count

    def save_model(
        self, request: HttpRequest, obj: LearningPath, form: ModelForm, change: bool
    ) -> None:
        values = {
            name: form.cleaned_data[name] for name in _PATH_FIELDS if name in form.cleaned_data
        }
        if change:
            changed = {name: values[name] for name in form.changed_data if name in values}
            path_update(path=obj, data=changed)
            return
        created = path_create(**values)
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: list, change: bool):
        """The courses of the inline, in the order given, through `path_courses_set` (which
        renumbers them 0, 1, 2... and issues certificates now earned)."""
        for formset in formsets:
            if formset.model is not LearningPathCourse:
                self.save_formset(request, form, formset, change=change)
                continue
            kept = [
                row
                for row in formset.cleaned_data
                if row and row.get("course") and not row.get("DELETE")
            ]
            kept.sort(key=lambda row: row.get("order") or 0)
            path_courses_set(path=form.instance, courses=[row["course"] for row in kept])
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(PathCertificate)
class PathCertificateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "learner_name", "user", "path", "issued_at", "public_link")
    list_filter = (("path", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("user", "path")
    search_fields = ("code", "learner_name", "user__email")
    date_hierarchy = "issued_at"

    @admin.display(description=_("public page"))
    def public_link(self, certificate: PathCertificate) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            certificate.get_absolute_url(),
            _("View"),
        )
