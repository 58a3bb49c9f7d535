from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgressConfig(AppConfig):
    name = "progress"
    verbose_name = _("Progress")

    def ready(self) -> None:
        from catalog.structure import learner_facts_loader_register

        # This app's section of a person's data (export and account deletion).
        from progress import personal_data  # noqa: F401
        from progress.structure import learner_facts_load

        # The catalog's structure rules read what a learner has done through this loader.
        learner_facts_loader_register(learner_facts_load)
