"""The apps' update check and bundle downloads under /api/v1/."""

urlpatterns: list = []
