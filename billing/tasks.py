"""Billing tasks: re-read from Stripe every subscription that may still change.

Beat schedule (settings): `subscriptions_reconcile` every `LMS_SUBSCRIPTION_RECONCILE_SECONDS`.
Lost or failed webhook events are queued again by `lms.tasks.webhook_events_reconcile`; this
task catches what no event told us (a webhook endpoint misconfigured for a day, say).
"""

import logging

from celery import shared_task

from billing.gateway import billing_enabled
from billing.models import Subscription
from billing.services import subscription_sync

logger = logging.getLogger(__name__)


@shared_task
def subscriptions_reconcile(*, limit: int = 500) -> int:
    """Sync every subscription not in a final status, least recently read first.

    Returns how many were read; one failing subscription is logged and the rest go on. A bounded
    batch per run: the oldest reads come first, so every subscription takes its turn.
    """
    if not billing_enabled():
        return 0
    pending = (
        Subscription.objects.exclude(status__in=Subscription.FINAL_STATUSES)
        .select_related("customer")
        .order_by("synced_at")[:limit]
    )
    synced = 0
    for subscription in pending:
        try:
            subscription_sync(
                subscription_id=subscription.stripe_id, customer_id=subscription.customer.stripe_id
            )
        except Exception:
            # Stripe down, or e.g. a status Stripe added after this code: log, go on.
            logger.exception("Reconciling subscription %s failed", subscription.stripe_id)
            continue
        synced += 1
    if synced:
        logger.info("Re-read %d subscriptions from Stripe", synced)
    return synced
