"""The dashboards' entry in the admin: a proxy of the course (no table of its own), so the
admin index lists "Analytics › Course dashboards" and its changelist is the list of courses
a user may open a dashboard for (`analytics.admin_dashboards`)."""

from django.utils.translation import gettext_lazy as _

from catalog.models import Course


class CourseDashboard(Course):
    class Meta:
        proxy = True
        verbose_name = _("course dashboard")
        verbose_name_plural = _("course dashboards")
