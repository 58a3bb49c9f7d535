"""The file library in the admin: uploaded images and files, found by purpose, status and name.

Files are never hard-deleted here: "Delete" hides a file (soft delete) and "Restore" brings it
back; the object stays in the bucket. "Open" makes a fresh short-lived signed URL on click
(`<id>/open/`), so a page left open never holds a working link for long.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html
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
    ]
    readonly_fields = [field for field in fields if field != "title"]

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
        count = sum(file_soft_delete(file=file) for file in queryset)
        self.message_user(
            request,
            ngettext("%d file deleted.", "%d files deleted.", count) % count,
            messages.SUCCESS,
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
