from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        # This app's section of a person's data (export and account deletion), and the
        # receivers that drop the cached structure rules whenever a course's content changes.
        from catalog import personal_data, signals  # noqa: F401
