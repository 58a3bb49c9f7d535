from django.contrib import admin

from notifications.models import Digest, Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "user",
        "kind",
        "created_at",
        "read_at",
        "email_delivery",
        "emailed_at",
    ]
    list_filter = ["kind", "email_delivery", "created_at"]
    search_fields = ["title", "source", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user", "actor"]
    readonly_fields = ["id", "created_at", "emailed_at", "digest"]
    date_hierarchy = "created_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "delivery", "updated_at"]
    list_filter = ["kind", "delivery"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    """Digests sent: read-only, a record of what went out (the outbox holds the email)."""

    list_display = ["user", "period", "period_start", "item_count", "created_at"]
    list_filter = ["period", "period_start"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = [
        "id",
        "user",
        "period",
        "period_start",
        "period_end",
        "created_at",
        "item_count",
        "email_id",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
