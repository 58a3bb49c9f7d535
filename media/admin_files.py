"""The file library in the admin: uploaded images and files, found by purpose, status and name.

Files are never hard-deleted here: "Delete" hides a file (soft delete) and "Restore" brings it
back; the object stays in the bucket. The "used in" column counts the lessons that offer a file
as an attachment (annotated, no per-row query) and the change page links to them; deleting a
file still in use warns, since it disappears from those lessons' downloads.
"Open" makes a fresh short-lived signed URL on click (`<id>/open/`), so a page left open never
holds a working link for long.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from media.models import StoredFile
from media.storage import StorageError, file_presigned_get, file_restore, file_soft_delete

# Signed links opened from the admin live this long (seconds).
ADMIN_READ_URL_TTL = 60


class FileDeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("no", _("No")), ("yes", _("Yes"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "purpose",
        "status",
        "size_display",
        "uploaded_by",
        "created_at",
        "is_deleted",
        "usage_count",
        "open_link",
    ]
    list_filter = ["purpose", "status", FileDeletedFilter]
    search_fields = ["title", "key"]
    list_select_related = ["uploaded_by"]
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = ["soft_delete", "restore"]
    fields = [
        "title",
        "purpose",
        "key",
        "content_type",
        "size_display",
        "status",
        "uploaded_by",
        "created_at",
        "confirmed_at",
        "deleted_at",
        "open_link",
        "used_in",
    ]
    readonly_fields = [field for field in fields if field != "title"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredFile]:
        # `lessons` is the reverse of catalog's Lesson.attachments (media imports no catalog).
        return super().get_queryset(request).annotate(usage=Count("lessons", distinct=True))

    # --- Columns -----------------------------------------------------------------------

    @admin.display(description=_("file"), ordering="title")
    def name(self, file: StoredFile) -> str:
        return str(file)

    @admin.display(description=_("size"), ordering="size")
    def size_display(self, file: StoredFile) -> str:
        return filesizeformat(file.size) if file.size is not None else "—"

    @admin.display(description=_("deleted"), boolean=True, ordering="deleted_at")
    def is_deleted(self, file: StoredFile) -> bool:
        return file.deleted_at is not None

    @admin.display(description=_("used in"), ordering="usage")
    def usage_count(self, file: StoredFile) -> str:
        usage = getattr(file, "usage", 0)
        if not usage:
            return "—"
        return ngettext("%d lesson", "%d lessons", usage) % usage

    @admin.display(description=_("used in lessons"))
    def used_in(self, file: StoredFile) -> str:
        if file.pk is None:
            return "—"
        lessons = file.lessons.select_related("course").order_by("course__title", "title")
        rows = [
            (reverse("admin:catalog_lesson_change", args=[lesson.pk]), lesson.course, lesson)
            for lesson in lessons
        ]
        if not rows:
            return _("Not used by any lesson.")
        return format_html(
            "<ul>{}</ul>", format_html_join("", '<li><a href="{}">{} · {}</a></li>', rows)
        )

    @admin.display(description=_("open"))
    def open_link(self, file: StoredFile) -> str:
        if file.pk is None or file.status != StoredFile.Status.CONFIRMED:
            return "—"
        url = reverse("admin:media_storedfile_open", args=[file.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("Open"))

    # --- No adding (files come through uploads) and no hard delete ------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StoredFile | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("soft_delete", None)
            actions.pop("restore", None)
        return actions

    # --- Actions ---------------------------------------------------------------------------

    @admin.action(description=_("Delete selected files (can be restored)"))
    def soft_delete(self, request: HttpRequest, queryset: QuerySet) -> None:
        files = list(queryset.annotate(in_use=Count("lessons", distinct=True)))
        deleted = [file for file in files if file_soft_delete(file=file)]
        count = len(deleted)
        self.message_user(
            request,
            ngettext("%d file deleted.", "%d files deleted.", count) % count,
            messages.SUCCESS,
        )
        in_use = [file for file in deleted if file.in_use]
        if in_use:
            names = ", ".join(str(file) for file in in_use)
            self.message_user(
                request,
                _(
                    "Still attached to lessons, so no longer offered there: %s. "
                    "Restore to offer again."
                )
                % names,
                messages.WARNING,
            )

    @admin.action(description=_("Restore selected files"))
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = sum(file_restore(file=file) for file in queryset)
        self.message_user(
            request,
            ngettext("%d file restored.", "%d files restored.", count) % count,
            messages.SUCCESS,
        )

    # --- Open: a fresh signed URL per click --------------------------------------------------

    def get_urls(self) -> list:
        open_url = path(
            "<uuid:file_id>/open/",
            self.admin_site.admin_view(self.open_view),
            name="media_storedfile_open",
        )
        return [open_url, *super().get_urls()]

    def open_view(self, request: HttpRequest, file_id: str) -> HttpResponseRedirect:
        file = get_object_or_404(StoredFile, pk=file_id)
        if not self.has_view_permission(request, file):
            raise PermissionDenied
        changelist = reverse("admin:media_storedfile_changelist")
        if file.status != StoredFile.Status.CONFIRMED:
            self.message_user(request, _("This file has not been uploaded yet."), messages.ERROR)
            return HttpResponseRedirect(changelist)
        try:
            signed = file_presigned_get(file=file, expires=ADMIN_READ_URL_TTL)
        except StorageError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(changelist)
        return HttpResponseRedirect(signed.url)
