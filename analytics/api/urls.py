"""The analytics API under /api/v1/: event ingestion and learners' data exports."""

from django.urls import include, path

urlpatterns = [
    path("", include("analytics.api.events")),
    path("", include("analytics.api.exports")),
]
