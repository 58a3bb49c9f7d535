from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "media"
    verbose_name = _("Media")

    def ready(self) -> None:
        # Registers the Mux webhook handlers with the inbox (lms.webhooks).
        from media import webhooks  # noqa: F401

        # This app's section of a person's data (export and account deletion).
        from media import personal_data  # noqa: F401
