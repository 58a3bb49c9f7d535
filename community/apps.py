from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    """Lesson discussions, live course chat, announcements and their moderation: the top of
    the dependency chain (it may import every app below it; none imports it)."""

    name = "community"
    verbose_name = _("Community")

    def ready(self) -> None:
        # Discussions' admin (threads, replies, the reports queue) beside the others', and
        # this app's section of a person's data.
        import community.admin_discussions
        import community.personal_data  # noqa: F401

        # Chat: a change of a user's entitlements makes their open chat sockets re-check
        # access (a cancelled subscription drops them).
        from billing.signals import entitlements_changed
        from community.services.chat import chat_entitlements_changed

        entitlements_changed.connect(chat_entitlements_changed, dispatch_uid="community.chat")
