"""Learners' data exports in the admin: a read-only list, for support ("did my export
fail?"). Exports are made by their owners only; the admin never opens one."""

from django.contrib import admin

from analytics.models import DataExport
from lms.admin import ReadOnlyAdminMixin


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user", "status", "requested_at", "ready_at", "expires_at", "size_bytes"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["=id", "user__email"]
    date_hierarchy = "requested_at"
    ordering = ["-requested_at"]
    # No file field: staff see that an export exists, not what is in it.
    fields = [
        "id",
        "user",
        "status",
        "requested_at",
        "ready_at",
        "expires_at",
        "downloaded_at",
        "size_bytes",
        "error",
    ]
    readonly_fields = fields
