"""/api/v1/manage/: courses, sections, lessons, quizzes; documents (import, export, bulk)."""

from django.urls import include, path

urlpatterns = [
    path("", include("catalog.manage.documents")),
]
