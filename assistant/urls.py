"""Assistant pages for learners: the tutor's conversations."""

from django.urls import include, path

app_name = "assistant"

urlpatterns = [
    path("", include("assistant.tutor_urls")),
]
