"""/api/v1/manage/: courses, sections, lessons, quizzes; documents (import, export, bulk)."""

from django.urls import include, path

from catalog.manage import courses, lessons, quizzes, sections

urlpatterns = [
    # The documents' fixed paths (courses/import/, .../bulk/) never look like an id.
    path("", include("catalog.manage.documents")),
    *courses.urlpatterns,
    *sections.urlpatterns,
    *lessons.urlpatterns,
    *quizzes.urlpatterns,
]
