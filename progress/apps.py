from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgressConfig(AppConfig):
    name = "progress"
    verbose_name = _("Progress")

    def ready(self) -> None:
        # This app's section of a person's data (export and account deletion).
        from progress import personal_data  # noqa: F401
