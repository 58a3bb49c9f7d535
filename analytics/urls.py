"""Analytics pages: the dashboards (under /admin/analytics/, see admin_dashboards) and the
learner's own data export (under /profile/data/)."""

from django.urls import include, path

app_name = "analytics"

urlpatterns = [
    path("", include("analytics.export_urls")),
]
