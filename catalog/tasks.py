"""Catalog tasks (Celery finds them here): offline bundle builds."""

from catalog.bundles.tasks import bundles_refresh, course_bundles_build

__all__ = ["bundles_refresh", "course_bundles_build"]
