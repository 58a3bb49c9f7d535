from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        # This app's section of a person's data (export and account deletion).
        from catalog import personal_data  # noqa: F401
