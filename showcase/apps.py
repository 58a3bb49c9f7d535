from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShowcaseConfig(AppConfig):
    """Projects: staff-authored, or submitted by learners for a course and approved by staff
    before they are public. The top of the dependency chain beside community, analytics and
    assistant (it may import every app below it; none imports it)."""

    name = "showcase"
    verbose_name = _("Showcase")

    def ready(self) -> None:
        # This app's section of a person's data, and the notification its reviews send.
        import showcase.personal_data  # noqa: F401
        from notifications.kinds import kind_register

        kind_register(
            "project_review",
            label=_("Project reviews"),
            description=_("Staff approved a project you submitted, or asked you to change it."),
        )
