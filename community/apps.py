from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    """Lesson discussions, live course chat, announcements and their moderation: the top of
    the dependency chain (it may import every app below it; none imports it)."""

    name = "community"
    verbose_name = _("Community")
