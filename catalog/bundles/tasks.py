"""Bundle builds (thin: the work is in `catalog.bundles.services`)."""

from celery import shared_task


@shared_task
def course_bundles_build(*, course_id: str) -> None:
    """Build the offline bundles of one course's sections (idempotent)."""
