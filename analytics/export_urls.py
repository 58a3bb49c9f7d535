"""Learners' data export pages, under /profile/data/ (README "Your data")."""

from django.urls import path

from analytics import export_views

urlpatterns = [
    path("profile/data/", export_views.data_page, name="data"),
    path(
        "profile/data/exports/<uuid:export_id>/download/",
        export_views.data_export_download,
        name="data_export_download",
    ),
]
