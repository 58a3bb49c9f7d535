from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "media"
    verbose_name = _("Media")

    def ready(self) -> None:
        # Register the Mux webhook handlers with the inbox (lms.webhooks), and this app's
        # section of a person's data (export and account deletion), and the settings checks.
        import media.checks
        import media.personal_data
        import media.webhooks  # noqa: F401
