"""Analytics in the admin. The event store (read only) is here; the dashboards are in
`admin_dashboards` and the learners' data exports in `admin_exports`."""

from datetime import timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from analytics.catalog import EVENT_TYPES
from analytics.models import Event
from lms.admin import ReadOnlyAdminMixin

# The app filter lists the apps seen this recently (a range the BRIN index reads quickly),
# not every value the table ever held.
APP_FILTER_DAYS = 30


class EstimatedCountPaginator(Paginator):
    """The unfiltered list's size from PostgreSQL's statistics, not a COUNT(*) over millions
    of rows; a filtered list (a type, an app, a day) is counted exactly."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [Event._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


class TypeFilter(admin.SimpleListFilter):
    title = _("type")
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(EVENT_TYPES)]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


class AppFilter(admin.SimpleListFilter):
    title = _("app")
    parameter_name = "app"

    def lookups(self, request, model_admin):
        since = timezone.now() - timedelta(days=APP_FILTER_DAYS)
        apps = (
            Event.objects.filter(received_at__gte=since)
            .order_by("app")
            .values_list("app", flat=True)
            .distinct()
        )
        return [(app, app) for app in apps if app]

    def queryset(self, request, queryset):
        return queryset.filter(app=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The raw event store, to look at what apps and the server send: read only (events are
    only ever appended, and purged past LMS_ANALYTICS_RETENTION_DAYS)."""

    list_display = ["type", "source", "app", "app_version", "user", "occurred_at", "received_at"]
    list_filter = [TypeFilter, "source", AppFilter]
    list_select_related = ["user"]
    date_hierarchy = "occurred_at"
    search_fields = ["=user__email"]
    search_help_text = _("A learner's exact email address.")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "event_id",
        "type",
        "source",
        "user",
        "app",
        "app_version",
        "course_id",
        "lesson_id",
        "occurred_at",
        "received_at",
        "properties",
    ]
    readonly_fields = fields
