from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistantConfig(AppConfig):
    """The LLM provider boundary, lesson and quiz drafts that staff approve, and the lesson
    tutor: the top of the dependency chain beside community and analytics (it may import
    every app below it; none imports it, and it imports neither of them)."""

    name = "assistant"
    verbose_name = _("Assistant")

    def ready(self) -> None:
        # Drafts' and the tutor's admin beside the provider calls' (admin.py).
        import assistant.admin_drafts
        import assistant.admin_tutor
        import assistant.personal_data  # noqa: F401 - its section of a person's data
