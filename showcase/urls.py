"""Showcase pages: /projects/ and /projects/<slug>/ (and the author's own pages)."""

from django.urls import path

from showcase import views

app_name = "showcase"

urlpatterns = [
    path("projects/", views.project_list, name="project_list"),
    # Before <slug>: "new" and "mine" are reserved project slugs.
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/mine/", views.my_projects, name="my_projects"),
    path("projects/<slug:slug>/", views.project_detail, name="project_detail"),
    path("projects/<slug:slug>/edit/", views.project_edit, name="project_edit"),
    path("projects/<slug:slug>/delete/", views.project_delete, name="project_delete"),
    path("projects/<slug:slug>/restore/", views.project_restore, name="project_restore"),
]
