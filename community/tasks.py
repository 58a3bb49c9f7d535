"""Community tasks: thin and safe to run twice (the services they call are idempotent)."""

from uuid import UUID

from celery import shared_task


@shared_task
def announcement_notify_task(*, announcement_id: UUID) -> int:
    """Notify a published announcement's learners (in bounded batches); a learner already
    notified is skipped, so a redelivered task sends nothing twice."""
    from community.services.announcements import announcement_notify

    return announcement_notify(announcement_id=announcement_id)
