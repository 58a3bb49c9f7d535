from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Client and server events, daily rollups, the instructors' and staff dashboards, and
    learners' own data export: the top of the dependency chain beside community (it may
    import every app below it; none imports it)."""

    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # The dashboards and the data exports register beside the event store.
        import analytics.admin_dashboards
        import analytics.admin_exports
        import analytics.personal_data  # noqa: F401 - its section of a person's data

        # The server's own events (enrollments, completions, quiz attempts, subscription
        # changes) arrive through `lms.events.server_event`, sent inside the writer's
        # transaction, so an event row is committed with the change it records or not at all.
        from analytics.services.events import server_event_store
        from lms.events import server_event

        server_event.connect(server_event_store, dispatch_uid="analytics.server_event")
