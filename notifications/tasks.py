"""Notification tasks: thin, idempotent, bounded batches that re-queue themselves."""

import logging

from celery import shared_task

from notifications import services
from notifications.kinds import Delivery

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def notification_emails_send(self, *, source: str) -> int:
    """Send the immediate emails of one fan-out (`notifications_send_many`), a batch per
    run; re-queued while a full batch was found. Returns how many were queued this run."""
    ids = services.notification_emails_pending(source=source, limit=services.EMAIL_BATCH)
    sent = sum(services.notification_email_send(notification_id=pk) for pk in ids)
    if len(ids) == services.EMAIL_BATCH:
        self.apply_async(kwargs={"source": source})
    return sent


@shared_task
def notification_emails_sweep() -> int:
    """Send the immediate emails whose task never ran (the broker was down when it was
    queued): a bounded batch per beat run, the rest in the next one."""
    ids = services.notification_emails_pending(
        older_than=services.EMAIL_SWEEP_AFTER, limit=services.EMAIL_BATCH
    )
    sent = sum(services.notification_email_send(notification_id=pk) for pk in ids)
    if sent:
        logger.info("Sent %d notification emails whose task was lost", sent)
    return sent


@shared_task(bind=True)
def digests_send(
    self, *, period: str, period_start: str = "", period_end: str = "", after_user_id: str = ""
) -> int:
    """Send the digests of one period (beat: daily and weekly): one email per learner with
    notifications waiting for it. Without bounds, the last whole period before now.

    A batch of DIGEST_USER_BATCH learners per run, re-queued after the last one while the
    batch was full. Running twice, or twice at once, sends each learner one digest: each
    has a unique row per period (`digest_send`). Returns how many digests this run sent.
    """
    from django.utils.dateparse import parse_datetime

    if period not in Delivery.DIGESTS:
        raise ValueError(f"Unknown digest period {period!r}")
    if period_start and period_end:
        start, end = parse_datetime(period_start), parse_datetime(period_end)
    else:
        start, end = services.digest_period_bounds(period=period)
    user_ids = services.digest_users_pending(
        period=period,
        start=start,
        end=end,
        after_user_id=after_user_id,
        limit=services.DIGEST_USER_BATCH,
    )
    sent = 0
    for user_id in user_ids:
        digest = services.digest_send(user_id=user_id, period=period, start=start, end=end)
        sent += digest is not None
    if len(user_ids) == services.DIGEST_USER_BATCH:
        self.apply_async(
            kwargs={
                "period": period,
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "after_user_id": str(user_ids[-1]),
            }
        )
    return sent
