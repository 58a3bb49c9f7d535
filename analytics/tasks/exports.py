"""Learners' data exports: the build (queued on request) and the hourly purge (beat)."""

from uuid import UUID

from celery import shared_task

from lms.errors import TransientError

__all__ = ["data_export_build", "data_exports_purge"]


@shared_task(
    bind=True, autoretry_for=(TransientError,), retry_backoff=True, max_retries=8, acks_late=True
)
def data_export_build(self, *, export_id: str | UUID) -> None:
    """Build one export and email its link; a second run finds it built and does nothing."""
    from analytics.services.exports import data_export_build as build

    build(export_id=export_id)


@shared_task
def data_exports_purge() -> dict[str, int]:
    """Delete expired export files (a bounded batch: the next hour takes the rest) and
    queue again the builds whose task was lost."""
    from analytics.services.exports import data_exports_purge as purge
    from analytics.services.exports import data_exports_stale_requeue

    return {"purged": purge(), "requeued": data_exports_stale_requeue()}
