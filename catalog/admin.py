"""The course-authoring CMS: courses, their sections, and each section's lessons.

A two-level flow: a course page edits the course and its sections (inline); a section page
edits its lessons (inline); a lesson page edits one lesson in full, notes included. Every
write goes through `catalog.services` (and `catalog.quizzes`), deletes and inline rows
included, with the admin's user as the actor: the admin follows the site's rules, and every
change is audited and rebuilds the course's offline bundles. Each page runs a fixed number of
queries, however many lessons a course has.

A course page also manages the course's join code (rotate it, turn joining off) and links to
its learners' progress, which `progress.admin` lists.
"""

import copy
from contextlib import contextmanager
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import user_has_staff_role
from catalog.access import is_course_editor
from catalog.forms_admin import (
    COURSE_CREATE_FIELDS,
    ChoicesField,
    CourseAdminForm,
    LessonAdminForm,
    LessonInlineForm,
    LessonInlineFormSet,
    SectionAdminForm,
    SectionInlineForm,
    SectionInlineFormSet,
    changed_values,
)
from catalog.models import Course, Lesson, Quiz, Section, SectionUnlock
from catalog.services import (
    course_create,
    course_delete,
    course_join_code_clear,
    course_join_code_rotate,
    course_update,
    courses_set_status,
    lesson_create,
    lesson_delete,
    lesson_move,
    lesson_update,
    section_create,
    section_delete,
    section_move,
    section_update,
)
from catalog.structure_services import section_unlock_early, section_unlock_revoke

PUBLISHED_LESSONS = Q(lessons__is_published=True)
DIRECTIONS = ("up", "down")
JOIN_CODE_OPERATIONS = ("rotate", "clear")
# The learners of a course are enrollments, kept by `progress`; the admin links to their list.
ENROLLMENT_VIEW_PERMISSION = "progress.view_enrollment"
ENROLLMENTS_URL_NAME = "admin:progress_enrollment_changelist"


def duration_text(seconds: int | None) -> str:
    """A duration for editors, to the nearest minute: "1 h 05 min", "45 min"."""
    hours, minutes = divmod(((seconds or 0) + 30) // 60, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min") % {"minutes": minutes}


def join_path(code: str) -> str:
    """The link that enrolls whoever follows it (after signing in) with this join code."""
    return f"{reverse('progress:course_join')}?{urlencode({'code': code})}"


def learners_path(course: Course) -> str:
    """The enrollment list of the admin, filtered to this course."""
    return f"{reverse(ENROLLMENTS_URL_NAME)}?{urlencode({'course__id__exact': course.pk})}"


def _saved(obj: Model | None) -> bool:
    # Primary keys are UUIDs made in Python, so a new row already has one: ask the state.
    return obj is not None and not obj._state.adding


def _take_identity(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved instance the row a service created.

    The admin keeps using the instance its form built (its inlines and the redirect after
    saving point at it), while the create services build and save their own.
    """
    obj.pk = saved.pk
    obj._state.adding = False
    obj.refresh_from_db()


def _move_buttons(obj: Model | None, url_name: str) -> str | None:
    """Up/down buttons for a row inside the parent's change form.

    HTML forms cannot nest, so each button posts the surrounding form (and its CSRF token)
    to the move view through `formaction`; the move view ignores the other fields.
    """
    if not _saved(obj):
        return None
    labels = {"up": (gettext("Move up"), "↑"), "down": (gettext("Move down"), "↓")}
    return format_html_join(
        " ",
        '<button type="submit" class="button" formaction="{}" formmethod="post" '
        'formnovalidate title="{}" aria-label="{}: {}">{}</button>',
        (
            (
                reverse(url_name, args=[obj.pk, direction]),
                labels[direction][0],
                labels[direction][0],
                obj,
                labels[direction][1],
            )
            for direction in DIRECTIONS
        ),
    )


class ServiceWritesMixin:
    """Deletes (one row, or the changelist's "delete selected") and inline saves go through
    the services with the admin's user as the actor, like `save_model` does.

    Django's delete confirmation page has listed everything that goes with the rows, so the
    services delete them even when learners have records on them (`force`).
    """

    def delete_row(self, obj: Model, actor) -> None:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.delete_row(obj, request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset.model.objects.filter(
            pk__in=list(queryset.values_list("pk", flat=True))
        ):
            self.delete_row(obj, request.user)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset, change: bool) -> None:
        formset.actor = request.user
        super().save_formset(request, form, formset, change)


class MoveControlsMixin:
    """A POST-only "move up"/"move down" view for ordered rows, added through `get_urls`."""

    def move(self, obj: Model, direction: str, actor) -> bool:
        raise NotImplementedError

    def move_return_url(self, obj: Model) -> str:
        raise NotImplementedError

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_move"
        move = path(
            "<path:object_id>/move/<str:direction>/",
            self.admin_site.admin_view(self.move_view),
            name=name,
        )
        # Before the defaults, whose "<path:object_id>/" would swallow this URL.
        return [move, *super().get_urls()]

    def move_view(self, request: HttpRequest, object_id: str, direction: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if direction not in DIRECTIONS:
            raise Http404
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        if self.move(obj, direction, request.user):
            template = (
                _("“%(name)s” moved up.") if direction == "up" else _("“%(name)s” moved down.")
            )
            level = messages.SUCCESS
        else:
            template = (
                _("“%(name)s” is already first.")
                if direction == "up"
                else _("“%(name)s” is already last.")
            )
            level = messages.WARNING
        self.message_user(request, template % {"name": obj}, level)
        return redirect(self.move_return_url(obj))


class InstructorScopeMixin:
    """Instructors work on the courses they teach, and nothing else.

    Anyone without the staff role (`accounts.roles`) sees only the rows of their own
    courses: the changelist, the filters, the choices in forms and every object URL (another
    instructor's row "does not exist", as Django's admin says of any row outside its
    queryset). Whether a user edits a course is the access policy's `is_course_editor`.
    What they may do at all (view, add, change; no delete) is their group's permissions.
    """

    # The path from this admin's model to its course ("" for the course itself).
    course_path = ""

    @staticmethod
    def scoped(request: HttpRequest) -> bool:
        return not user_has_staff_role(request.user)

    @staticmethod
    def taught_courses(request: HttpRequest) -> QuerySet[Course]:
        return Course.objects.filter(instructors=request.user)

    def course_of(self, obj: Model) -> Course:
        return getattr(obj, self.course_path) if self.course_path else obj

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if not self.scoped(request):
            return queryset
        prefix = f"{self.course_path}__" if self.course_path else ""
        return queryset.filter(
            **{f"{prefix}pk__in": self.taught_courses(request).values("pk")}
        ).prefetch_related(f"{prefix}instructors")  # for is_course_editor, without a query

    def _may_edit(self, request: HttpRequest, obj: Model | None) -> bool:
        return obj is None or is_course_editor(user=request.user, course=self.course_of(obj))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def get_list_filter(self, request: HttpRequest) -> tuple:
        # A plain course filter would list every course's title.
        list_filter = tuple(super().get_list_filter(request))
        if not self.scoped(request):
            return list_filter
        return tuple(
            ("course", admin.RelatedOnlyFieldListFilter) if item == "course" else item
            for item in list_filter
        )

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "course" and self.scoped(request):
            kwargs["queryset"] = self.taught_courses(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AuthorTimeZoneMixin:
    """Pages showing or taking release instants work in the author's own time zone (their
    profile's), not the site's: Django's admin shows and reads datetimes in the current
    time zone, which the site leaves at TIME_ZONE outside these pages."""

    @staticmethod
    @contextmanager
    def author_zone(request: HttpRequest):
        zone = getattr(request.user, "zoneinfo", None)
        if zone is None:
            yield
            return
        with timezone.override(zone):
            yield

    def changeform_view(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with self.author_zone(request):
            response = super().changeform_view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # the template renders now, in the author's zone
            return response

    def changelist_view(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with self.author_zone(request):
            response = super().changelist_view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            return response


def release_text(section: Section) -> str:
    """When a section opens, for editors (in the current time zone): "" when it always is."""
    parts = []
    if section.release_at is not None:
        local = timezone.localtime(section.release_at)
        parts.append(
            gettext("opens %(when)s (%(zone)s)")
            % {
                "when": date_format(local, "DATETIME_FORMAT"),
                "zone": timezone.get_current_timezone_name(),
            }
        )
    if section.release_after_days is not None:
        template = (
            gettext("%(days)d days after the cohort start")
            if section.release_from == Section.ReleaseFrom.COHORT
            else gettext("%(days)d days after enrolling")
        )
        parts.append(template % {"days": section.release_after_days})
    return "; ".join(parts)


def prerequisite_count(through=Section.prerequisites.through, field: str = "from_section"):
    """How many prerequisites a row has, as a subquery (a join would multiply the other
    counts of the same query)."""
    return Coalesce(
        Subquery(
            through.objects.filter(**{field: OuterRef("pk")})
            .values(field)
            .annotate(total=Count("pk"))
            .values("total")[:1]
        ),
        0,
    )


def rules_text(section: Section) -> str:
    """The section's rules in a few words: hidden, when it opens, how many sections it needs
    (`prerequisite_total`, annotated; the section's page names them)."""
    parts = [gettext("hidden")] if section.is_hidden else []
    if release := release_text(section):
        parts.append(release)
    count = getattr(section, "prerequisite_total", 0)
    if count:
        parts.append(
            ngettext("needs %(count)d section", "needs %(count)d sections", count)
            % {"count": count}
        )
    return "; ".join(parts) or "—"


class ScheduleFilter(admin.SimpleListFilter):
    title = _("release")
    parameter_name = "release"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("scheduled", _("Scheduled (a date or days)")),
            ("fixed", _("At a fixed date")),
            ("days", _("Days after enrolling or the cohort start")),
            ("open", _("Not scheduled")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        scheduled = Q(release_at__isnull=False) | Q(release_after_days__isnull=False)
        filters = {
            "scheduled": scheduled,
            "fixed": Q(release_at__isnull=False),
            "days": Q(release_after_days__isnull=False),
            "open": ~scheduled,
        }
        return queryset.filter(filters[self.value()]) if self.value() in filters else queryset


class GatedFilter(admin.SimpleListFilter):
    title = _("prerequisites")
    parameter_name = "gated"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("yes", _("Needs other sections")), ("no", _("Needs none"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        gated = Q(
            pk__in=Section.prerequisites.through.objects.values("from_section_id"),
        )
        if self.value() == "yes":
            return queryset.filter(gated)
        if self.value() == "no":
            return queryset.exclude(gated)
        return queryset


# --- Courses ---------------------------------------------------------------------------


class SectionInline(admin.TabularInline):
    model = Section
    form = SectionInlineForm
    formset = SectionInlineFormSet
    # One "lessons" column (the count and the link to edit them); the computed columns
    # answer "" rather than None for a new row, which the admin would print as "None".
    fields = ("title", "order", "is_hidden", "section_rules", "section_lessons", "move_controls")
    readonly_fields = ("section_rules", "section_lessons", "move_controls")
    ordering = ("order",)
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Section]:
        return (
            super()
            .get_queryset(request)
            .annotate(lesson_total=Count("lessons"), prerequisite_total=prerequisite_count())
        )

    @admin.display(description=_("rules"))
    def section_rules(self, obj: Section) -> str:
        return rules_text(obj) if _saved(obj) else ""

    @admin.display(description=_("lessons"))
    def section_lessons(self, obj: Section) -> str:
        if not _saved(obj):
            return ""
        count = getattr(obj, "lesson_total", 0)
        url = reverse("admin:catalog_section_change", args=[obj.pk])
        label = ngettext("%(count)d lesson", "%(count)d lessons", count) % {"count": count}
        return format_html('{} · <a href="{}">{}</a>', label, url, gettext("Edit lessons"))

    @admin.display(description=_("move"))
    def move_controls(self, obj: Section) -> str:
        return _move_buttons(obj, "admin:catalog_section_move") or ""


@admin.register(Course)
class CourseAdmin(AuthorTimeZoneMixin, ServiceWritesMixin, InstructorScopeMixin, admin.ModelAdmin):
    form = CourseAdminForm
    inlines = (SectionInline,)
    list_display = (
        "title",
        "course_type",
        "difficulty",
        "status",
        "visibility",
        "required_tier",
        "progression",
        "lesson_count_display",
        "duration_display",
        "published_at",
        "preview_link",
    )
    list_filter = (
        "status",
        "visibility",
        "progression",
        "course_type",
        "difficulty",
        "locale",
        "required_tier",
    )
    list_select_related = ("required_tier",)
    # The model's ordering, spelled out: Django drops Meta.ordering from the annotated
    # (GROUP BY) queryset, and the course autocomplete pages through it.
    ordering = ("-published_at", "title")
    search_fields = ("title", "subtitle", "slug")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("instructors", "prerequisite_courses")
    readonly_fields = (
        "published_at",
        "lesson_count_display",
        "duration_display",
        "created_at",
        "updated_at",
        "join_code_display",
        "join_link_display",
        "join_code_controls",
        "learners_link",
    )
    fieldsets = (
        (None, {"fields": ("title", "slug", "subtitle", "description", "thumbnail")}),
        (_("Kind"), {"fields": ("course_type", "difficulty", "locale")}),
        (_("Access"), {"fields": ("visibility", "required_tier")}),
        (
            _("Structure"),
            {
                "fields": ("progression", "prerequisite_courses"),
                "description": _(
                    "Staff and the course's instructors bypass these rules. Sections can be "
                    "hidden, scheduled or need other sections on their own pages."
                ),
            },
        ),
        (_("Publishing"), {"fields": ("status", "published_at")}),
        (_("People"), {"fields": ("instructors",)}),
        (
            _("Summary"),
            {
                "fields": ("lesson_count_display", "duration_display", "created_at", "updated_at"),
                "classes": ("collapse",),
            },
        ),
    )
    join_fieldset = (
        _("Join by code"),
        {
            "fields": ("join_code_display", "join_link_display", "join_code_controls"),
            "description": _(
                "Learners who have the code join at the link (after signing in). Rotate the "
                "code to stop old ones; those who joined stay enrolled."
            ),
        },
    )
    learners_fieldset = (_("Learners"), {"fields": ("learners_link",)})
    actions = (
        "publish_courses",
        "unpublish_courses",
        "archive_courses",
        "rotate_join_codes",
        "clear_join_codes",
    )
    # The first submit button in a form is the one Enter presses: with the buttons on top,
    # that is "Save", not a section's "move up".
    save_on_top = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        # Learners see published lessons only, so the figures count those.
        return (
            super()
            .get_queryset(request)
            .annotate(
                lesson_count=Count("lessons", filter=PUBLISHED_LESSONS),
                total_duration_seconds=Coalesce(
                    Sum("lessons__duration_seconds", filter=PUBLISHED_LESSONS), 0
                ),
                prerequisite_total=prerequisite_count(
                    Course.prerequisite_courses.through, "from_course"
                ),
            )
        )

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "prerequisite_courses":
            kwargs["form_class"] = ChoicesField
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_object(self, request: HttpRequest, object_id: str, from_field=None) -> Course | None:
        course = super().get_object(request, object_id, from_field)
        if course is not None and getattr(course, "prerequisite_total", None) == 0:
            # Most courses require none: the form's empty choice costs no query then.
            course._prefetched_objects_cache = {
                **getattr(course, "_prefetched_objects_cache", {}),
                "prerequisite_courses": Course.objects.none(),
            }
        return course

    def get_readonly_fields(self, request: HttpRequest, obj: Course | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Who teaches a course is for staff to say; an instructor's new course is theirs.
        return (*readonly, "instructors") if self.scoped(request) else readonly

    def get_fieldsets(self, request: HttpRequest, obj: Course | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        if not _saved(obj):
            return fieldsets  # a new course has no code and no learners yet
        fieldsets.insert(-1, self._join_fieldset(obj))
        if request.user.has_perm(ENROLLMENT_VIEW_PERMISSION):
            fieldsets.insert(-1, self.learners_fieldset)
        return fieldsets

    def _join_fieldset(self, obj: Course) -> tuple:
        """The join fieldset; without a code there is no link to show (not "None")."""
        title, options = self.join_fieldset
        fields = options["fields"]
        if not obj.join_code:
            fields = tuple(name for name in fields if name != "join_link_display")
        return (title, {**options, "fields": fields})

    def get_list_display(self, request: HttpRequest) -> tuple:
        list_display = tuple(super().get_list_display(request))
        if request.user.has_perm(ENROLLMENT_VIEW_PERMISSION):
            return (*list_display, "learners_link")
        return list_display

    @admin.display(description=_("lessons"), ordering="lesson_count")
    def lesson_count_display(self, obj: Course) -> int | None:
        return getattr(obj, "lesson_count", None)

    @admin.display(description=_("duration"), ordering="total_duration_seconds")
    def duration_display(self, obj: Course) -> str | None:
        seconds = getattr(obj, "total_duration_seconds", None)
        return None if seconds is None else duration_text(seconds)

    @admin.display(description=_("on site"))
    def preview_link(self, obj: Course) -> str:
        # The course page shows drafts to staff (catalog.access), so this is their preview.
        label = gettext("Preview") if obj.status == Course.Status.DRAFT else gettext("View")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', obj.get_absolute_url(), label
        )

    @admin.display(description=_("join code"))
    def join_code_display(self, obj: Course) -> str:
        if not obj.join_code:
            return gettext("Off: nobody can join by code.")
        return format_html("<strong><code>{}</code></strong>", obj.join_code)

    @admin.display(description=_("join link"))
    def join_link_display(self, obj: Course) -> str:
        if not obj.join_code:
            return ""
        path = join_path(obj.join_code)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', path, path)

    @admin.display(description=_("change the code"))
    def join_code_controls(self, obj: Course) -> str | None:
        """Buttons posting the page's form (and its CSRF token) to the join-code view, like
        the move buttons; that view ignores the course's fields."""
        if not _saved(obj):
            return None
        buttons = [("rotate", gettext("Rotate join code"))]
        if obj.join_code:
            buttons.append(("clear", gettext("Turn joining off")))
        else:
            buttons[0] = ("rotate", gettext("Turn joining on (new code)"))
        return format_html_join(
            " ",
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            "formnovalidate>{}</button>",
            (
                (reverse("admin:catalog_course_join_code", args=[obj.pk, operation]), label)
                for operation, label in buttons
            ),
        )

    @admin.display(description=_("learners"))
    def learners_link(self, obj: Course) -> str | None:
        if not _saved(obj):
            return None
        return format_html('<a href="{}">{}</a>', learners_path(obj), gettext("Learner progress"))

    def get_urls(self) -> list[URLPattern]:
        join_code = path(
            "<path:object_id>/join-code/<str:operation>/",
            self.admin_site.admin_view(self.join_code_view),
            name="catalog_course_join_code",
        )
        # Before the defaults, whose "<path:object_id>/" would swallow this URL.
        return [join_code, *super().get_urls()]

    def join_code_view(self, request: HttpRequest, object_id: str, operation: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if operation not in JOIN_CODE_OPERATIONS:
            raise Http404
        course = self.get_object(request, unquote(object_id))
        if course is None:
            raise Http404
        if not self.has_change_permission(request, course):
            raise PermissionDenied
        if operation == "rotate":
            course_join_code_rotate(course=course, actor=request.user)
            message = _(
                "“%(name)s” has a new join code: %(code)s. The previous code no longer works."
            ) % {"name": course, "code": course.join_code}
        else:
            course_join_code_clear(course=course, actor=request.user)
            message = _("Joining “%(name)s” by code is off.") % {"name": course}
        self.message_user(request, message, messages.SUCCESS)
        return redirect(reverse("admin:catalog_course_change", args=[course.pk]))

    def save_model(self, request: HttpRequest, obj: Course, form: ModelForm, change: bool) -> None:
        if change:
            course_update(course=obj, data=changed_values(form), actor=request.user)
            return
        values = changed_values(form, list(form._meta.fields))
        create_args = {name: values.pop(name) for name in COURSE_CREATE_FIELDS if name in values}
        if self.scoped(request):
            create_args["instructors"] = [request.user]
        created = course_create(**create_args, actor=request.user)
        if values.get("status") == Course.Status.DRAFT:
            values.pop("status")
        if not values.get("thumbnail"):
            values.pop("thumbnail", None)
        if values:
            course_update(course=created, data=values, actor=request.user)
        _take_identity(obj, created)

    def delete_row(self, obj: Course, actor) -> None:
        course_delete(course=obj, actor=actor, force=True)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list, change: bool
    ) -> None:
        # Instructors were saved by the service in save_model; only the inlines are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Course], status: str) -> None:
        count = courses_set_status(courses=queryset, status=status, actor=request.user)
        templates = {
            Course.Status.PUBLISHED: ngettext(
                "%(count)d course published.", "%(count)d courses published.", count
            ),
            Course.Status.DRAFT: ngettext(
                "%(count)d course moved back to draft.",
                "%(count)d courses moved back to draft.",
                count,
            ),
            Course.Status.ARCHIVED: ngettext(
                "%(count)d course archived.", "%(count)d courses archived.", count
            ),
        }
        self.message_user(request, templates[status] % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Publish selected courses"), permissions=["change"])
    def publish_courses(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        self._set_status(request, queryset, Course.Status.PUBLISHED)

    @admin.action(
        description=_("Unpublish selected courses (back to draft)"), permissions=["change"]
    )
    def unpublish_courses(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        self._set_status(request, queryset, Course.Status.DRAFT)

    @admin.action(description=_("Archive selected courses"), permissions=["change"])
    def archive_courses(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        self._set_status(request, queryset, Course.Status.ARCHIVED)

    @admin.action(
        description=_("Rotate the join codes of selected courses"), permissions=["change"]
    )
    def rotate_join_codes(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        # The queryset is this admin's, so instructors only reach the courses they teach.
        courses = [
            course_join_code_rotate(course=course, actor=request.user) for course in queryset
        ]
        self.message_user(
            request,
            ngettext(
                "%(count)d course has a new join code: %(codes)s.",
                "%(count)d courses have new join codes: %(codes)s.",
                len(courses),
            )
            % {
                "count": len(courses),
                "codes": ", ".join(f"{course} {course.join_code}" for course in courses),
            },
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Turn joining by code off for selected courses"), permissions=["change"]
    )
    def clear_join_codes(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        courses = [
            course_join_code_clear(course=course, actor=request.user)
            for course in queryset.filter(join_code__isnull=False)
        ]
        self.message_user(
            request,
            ngettext(
                "Joining by code is off for %(count)d course.",
                "Joining by code is off for %(count)d courses.",
                len(courses),
            )
            % {"count": len(courses)},
            messages.SUCCESS,
        )


# --- Sections --------------------------------------------------------------------------


class LessonInline(admin.TabularInline):
    model = Lesson
    fk_name = "section"
    form = LessonInlineForm
    formset = LessonInlineFormSet
    fields = (
        "title",
        "slug",
        "kind",
        "duration_seconds",
        "order",
        "is_free_preview",
        "is_published",
        "is_hidden",
        "xp_value",
        "is_boss",
        "is_required",
        "edit_link",
        "move_controls",
    )
    readonly_fields = ("edit_link", "move_controls")
    prepopulated_fields = {"slug": ("title",)}
    ordering = ("order",)
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lesson]:
        # The notes are edited on the lesson's own page; no need to load 200 of them here.
        return super().get_queryset(request).defer("body")

    @admin.display(description=_("notes"))
    def edit_link(self, obj: Lesson) -> str:
        if not _saved(obj):
            return ""
        url = reverse("admin:catalog_lesson_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Edit lesson"))

    @admin.display(description=_("move"))
    def move_controls(self, obj: Lesson) -> str:
        return _move_buttons(obj, "admin:catalog_lesson_move") or ""


@admin.register(Section)
class SectionAdmin(
    AuthorTimeZoneMixin,
    ServiceWritesMixin,
    InstructorScopeMixin,
    MoveControlsMixin,
    admin.ModelAdmin,
):
    course_path = "course"
    form = SectionAdminForm
    inlines = (LessonInline,)
    list_display = (
        "title",
        "course",
        "order",
        "is_hidden",
        "release_display",
        "prerequisites_display",
        "lesson_count_display",
    )
    list_filter = ("course", "is_hidden", ScheduleFilter, GatedFilter)
    list_select_related = ("course",)
    search_fields = ("title", "course__title")
    ordering = ("course__title", "order")
    autocomplete_fields = ("course",)
    filter_horizontal = ("prerequisites",)
    fieldsets = (
        (None, {"fields": ("course", "title", "order", "lesson_count_display")}),
        (
            _("Structure"),
            {
                "fields": (
                    "is_hidden",
                    "prerequisites",
                    "release_at",
                    "release_after_days",
                    "release_from",
                ),
                "description": _(
                    "A learner may open the section once its prerequisites are completed and "
                    "its release has come (both set: the later). What a learner has started "
                    "stays open. Staff and the course's instructors bypass every rule."
                ),
            },
        ),
    )
    save_on_top = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Section]:
        return (
            super()
            .get_queryset(request)
            .select_related("course")
            .annotate(lesson_total=Count("lessons"))
            # The list's "needs" column and the change form's chosen prerequisites.
            .prefetch_related("prerequisites")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Section | None = None) -> tuple:
        # A section stays in its course: its lessons' slugs are unique within that course.
        return ("course", "lesson_count_display") if obj else ("lesson_count_display",)

    def get_form(self, request: HttpRequest, obj: Section | None = None, **kwargs) -> type:
        form = super().get_form(request, obj, **kwargs)
        if "prerequisites" in form.base_fields:
            # A copy: the declared field is shared by every form class made from the form.
            field = copy.deepcopy(form.base_fields["prerequisites"])
            if _saved(obj):
                field.queryset = field.queryset.filter(course_id=obj.course_id).exclude(pk=obj.pk)
            elif self.scoped(request):
                field.queryset = field.queryset.filter(course__in=self.taught_courses(request))
            form.base_fields["prerequisites"] = field
        if "release_at" in form.base_fields:
            field = copy.deepcopy(form.base_fields["release_at"])
            field.help_text = gettext(
                "A fixed instant the section opens for everyone, in your time zone "
                "(%(zone)s, from your profile). Learners see it in theirs."
            ) % {"zone": timezone.get_current_timezone_name()}
            form.base_fields["release_at"] = field
        return form

    @admin.display(description=_("lessons"), ordering="lesson_total")
    def lesson_count_display(self, obj: Section) -> int | None:
        return getattr(obj, "lesson_total", None)

    @admin.display(description=_("opens"))
    def release_display(self, obj: Section) -> str:
        return release_text(obj) or "—"

    @admin.display(description=_("needs"))
    def prerequisites_display(self, obj: Section) -> str:
        return ", ".join(other.title for other in obj.prerequisites.all()) or "—"

    def save_model(self, request: HttpRequest, obj: Section, form: ModelForm, change: bool) -> None:
        if change:
            section_update(section=obj, data=changed_values(form), actor=request.user)
            return
        values = changed_values(form, list(form._meta.fields))
        values.pop("course", None)
        values.pop("order", None)
        values["prerequisites"] = list(values.get("prerequisites") or ())
        created = section_create(
            course=form.cleaned_data["course"],
            order=form.cleaned_data.get("order"),
            **values,
            actor=request.user,
        )
        _take_identity(obj, created)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list, change: bool
    ) -> None:
        # The prerequisites were saved by the service in save_model; only the inlines are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_row(self, obj: Section, actor) -> None:
        section_delete(section=obj, actor=actor, force=True)

    def move(self, obj: Section, direction: str, actor) -> bool:
        return section_move(section=obj, direction=direction, actor=actor)

    def move_return_url(self, obj: Section) -> str:
        return reverse("admin:catalog_course_change", args=[obj.course_id])


# --- Lessons ---------------------------------------------------------------------------


@admin.register(Lesson)
class LessonAdmin(ServiceWritesMixin, InstructorScopeMixin, MoveControlsMixin, admin.ModelAdmin):
    course_path = "course"
    form = LessonAdminForm
    list_display = (
        "title",
        "course",
        "section",
        "kind",
        "duration_display",
        "order",
        "is_published",
        "is_hidden",
        "is_free_preview",
        "is_boss",
        "xp_value",
    )
    list_filter = (
        "course",
        "kind",
        "is_published",
        "is_hidden",
        "is_free_preview",
        "is_boss",
        "is_required",
    )
    list_select_related = ("course", "section")
    search_fields = ("title", "slug", "course__title", "section__title")
    ordering = ("course__title", "section__order", "order")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("course",)
    fieldsets = (
        (None, {"fields": ("section", "course", "title", "slug", "kind")}),
        # A video from the library (Media -> Videos: upload there first); video lessons play it.
        (_("Video"), {"fields": ("video",)}),
        (_("Notes"), {"fields": ("body",)}),
        (
            _("Settings"),
            {
                "fields": (
                    "duration_seconds",
                    "order",
                    "is_free_preview",
                    "is_published",
                    "is_hidden",
                    "xp_value",
                    "is_boss",
                    "is_required",
                )
            },
        ),
        # Private files (confirmed attachments only: the field's limit_choices_to), offered
        # to learners who may open the lesson (`catalog.attachments`).
        (_("Downloads"), {"fields": ("attachments",)}),
    )
    autocomplete_fields = ("attachments",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lesson]:
        return super().get_queryset(request).select_related("course", "section")

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple:
        # The autocomplete asks the file library's admin, which instructors cannot open: they
        # pick from a plain list of the confirmed attachments instead.
        return () if self.scoped(request) else self.autocomplete_fields

    def get_fieldsets(self, request: HttpRequest, obj: Lesson | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        if _saved(obj) and obj.kind == Lesson.Kind.QUIZ:
            fieldsets.insert(1, (_("Quiz"), {"fields": ("quiz_link",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Lesson | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if _saved(obj) and obj.kind == Lesson.Kind.QUIZ:
            readonly += ("quiz_link",)
        return readonly

    @admin.display(description=_("quiz"))
    def quiz_link(self, obj: Lesson) -> str:
        try:
            quiz = obj.quiz
        except Quiz.DoesNotExist:
            url = f"{reverse('admin:catalog_quiz_add')}?lesson={obj.pk}"
            return format_html('<a href="{}">{}</a>', url, gettext("Add the questions"))
        url = reverse("admin:catalog_quiz_change", args=[quiz.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Edit the questions"))

    def get_form(self, request: HttpRequest, obj: Lesson | None = None, **kwargs) -> type:
        form = super().get_form(request, obj, **kwargs)
        if self.scoped(request) and "section" in form.base_fields:
            # A copy: the declared field is shared by every form class made from the form.
            field = copy.deepcopy(form.base_fields["section"])
            field.queryset = field.queryset.filter(course__in=self.taught_courses(request))
            form.base_fields["section"] = field
        return form

    @admin.display(description=_("duration"), ordering="duration_seconds")
    def duration_display(self, obj: Lesson) -> str:
        return duration_text(obj.duration_seconds)

    def save_model(self, request: HttpRequest, obj: Lesson, form: ModelForm, change: bool) -> None:
        section = form.cleaned_data["section"]
        # The attachments (many-to-many) are saved by the same service call, audited with
        # the rest, so `save_related` has nothing left to save.
        if change:
            data = changed_values(form)
            moved_to = section if data.pop("section", None) is not None else None
            lesson_update(lesson=obj, data=data, section=moved_to, actor=request.user)
            return
        values = changed_values(form, list(form._meta.fields))
        values.pop("section")
        if values.get("attachments") is not None:
            values["attachments"] = list(values["attachments"])
        created = lesson_create(section=section, **values, actor=request.user)
        _take_identity(obj, created)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list, change: bool
    ) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_row(self, obj: Lesson, actor) -> None:
        lesson_delete(lesson=obj, actor=actor, force=True)

    def move(self, obj: Lesson, direction: str, actor) -> bool:
        return lesson_move(lesson=obj, direction=direction, actor=actor)

    def move_return_url(self, obj: Lesson) -> str:
        return reverse("admin:catalog_section_change", args=[obj.section_id])


# --- Early unlocks -----------------------------------------------------------------------


class SectionUnlockForm(ModelForm):
    class Meta:
        model = SectionUnlock
        fields = ("user", "section")
        help_texts = {
            "user": _("The learner who may open the section now."),
            "section": _(
                "Every structure rule on it is lifted for this learner (the tier still applies)."
            ),
        }


@admin.register(SectionUnlock)
class SectionUnlockAdmin(InstructorScopeMixin, admin.ModelAdmin):
    """Staff open a section early for one learner; deleting the row locks it again by the
    rules (what the learner started meanwhile stays open). Both go through
    `catalog.structure_services`, audited."""

    course_path = "section__course"
    form = SectionUnlockForm
    list_display = ("section", "course_display", "user", "granted_by", "created_at")
    list_select_related = ("section__course", "user", "granted_by")
    list_filter = (("section__course", admin.RelatedOnlyFieldListFilter),)
    search_fields = (
        "user__email",
        "user__display_name",
        "section__title",
        "section__course__title",
    )
    autocomplete_fields = ("user", "section")
    readonly_fields = ("granted_by", "created_at")
    ordering = ("-created_at",)

    def course_of(self, obj: SectionUnlock) -> Course:
        return obj.section.course

    @admin.display(description=_("course"), ordering="section__course__title")
    def course_display(self, obj: SectionUnlock) -> str:
        return str(obj.section.course)

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple:
        # The learner autocomplete asks the accounts admin, which only staff open.
        return ("section",) if self.scoped(request) else self.autocomplete_fields

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "section" and self.scoped(request):
            kwargs["queryset"] = Section.objects.filter(course__in=self.taught_courses(request))
        if db_field.name == "user" and self.scoped(request):
            # Not a list of every account: the instructor types the learner's address.
            return forms.ModelChoiceField(
                queryset=User.objects.filter(is_active=True),
                to_field_name="email",
                widget=forms.EmailInput,
                label=_("learner's email address"),
                error_messages={"invalid_choice": _("There is no learner with this address.")},
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # an unlock is granted or revoked, never edited

    def save_model(
        self, request: HttpRequest, obj: SectionUnlock, form: ModelForm, change: bool
    ) -> None:
        unlock = section_unlock_early(
            actor=request.user,
            section=form.cleaned_data["section"],
            user=form.cleaned_data["user"],
        )
        obj.pk, obj.granted_by_id, obj.created_at = (
            unlock.pk,
            unlock.granted_by_id,
            unlock.created_at,
        )
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: SectionUnlock) -> None:
        section_unlock_revoke(actor=request.user, section=obj.section, user=obj.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SectionUnlock]) -> None:
        for unlock in queryset.select_related("section__course", "user"):
            section_unlock_revoke(actor=request.user, section=unlock.section, user=unlock.user)


from catalog import admin_quizzes  # noqa: E402, F401  (registers the quiz admin)
