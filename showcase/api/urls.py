"""The showcase API under /api/v1/projects/."""

urlpatterns: list = []
