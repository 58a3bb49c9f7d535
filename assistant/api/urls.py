"""The assistant API under /api/v1/: the lesson tutor (and, for staff tools, drafts)."""

from django.urls import include, path

urlpatterns = [
    path("", include("assistant.api.tutor")),
]
