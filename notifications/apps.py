from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications.kinds import kinds_register_builtin

        kinds_register_builtin()

        # This app's section of a person's data (export and account deletion).
        from notifications import personal_data  # noqa: F401
