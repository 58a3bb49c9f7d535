"""Event retention: raw events past LMS_ANALYTICS_RETENTION_DAYS are deleted in bounded
batches by a beat task that queues itself again while there is more (rollups are kept)."""

from celery import shared_task
from django.conf import settings

__all__ = ["events_purge"]


@shared_task
def events_purge(*, batch_size: int | None = None) -> int:
    """Delete one batch of expired events; a full batch queues the next one. Safe to run
    twice or concurrently (each DELETE takes whatever is still there). Returns how many."""
    from analytics.services.events import events_purge_expired

    size = batch_size or settings.LMS_ANALYTICS_PURGE_BATCH
    deleted = events_purge_expired(batch_size=size)
    if deleted >= size:
        events_purge.delay(batch_size=size)
    return deleted
