"""Catalog tasks (Celery finds them here): offline bundle builds."""

from catalog.bundles.tasks import course_bundles_build

__all__ = ["course_bundles_build"]
