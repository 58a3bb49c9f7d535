"""Learning paths in the API (`/api/v1/paths/`), joined into `progress.api`."""

urlpatterns: list = []
