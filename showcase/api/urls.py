"""The showcase API under /api/v1/projects/ (and /api/v1/me/projects/)."""

from showcase.api import projects

urlpatterns: list = [*projects.urlpatterns]
