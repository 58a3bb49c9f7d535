"""Learning path pages (`/paths/`), joined into `progress.urls`."""

urlpatterns: list = []
