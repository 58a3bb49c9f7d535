from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShowcaseConfig(AppConfig):
    """Projects: staff-authored, or submitted by learners for a course and approved by staff
    before they are public. The top of the dependency chain beside community, analytics and
    assistant (it may import every app below it; none imports it)."""

    name = "showcase"
    verbose_name = _("Showcase")
