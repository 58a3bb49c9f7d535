"""Billing tasks: re-read from Stripe every subscription that may still change.

Beat schedule (settings): `subscriptions_reconcile` every `LMS_SUBSCRIPTION_RECONCILE_SECONDS`.
Lost or failed webhook events are queued again by `lms.tasks.webhook_events_reconcile`; this
task catches what no event told us (a webhook endpoint misconfigured for a day, say).
`subscription_resync` needs no beat: `billing.entitlements` queues it when a learner's access
is decided on a subscription whose period lapsed without a renewal reaching us.
"""

import logging

import stripe
from celery import shared_task

from billing.gateway import billing_enabled
from billing.models import Subscription
from billing.services import subscription_refresh, subscription_sync

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


@shared_task(ignore_result=True)
def subscription_resync(*, subscription_id: str) -> None:
    """Re-read one subscription (Stripe's id) whose copy looked lapsed; safe to run twice.

    Not retried: while it stays lapsed, the learner's next page after
    `billing.entitlements.RESYNC_INTERVAL_SECONDS` queues it again, and the reconciliation
    reads it too.
    """
    if not billing_enabled():
        return
    try:
        subscription_refresh(subscription_id=subscription_id)
    except (stripe.StripeError, ValueError) as error:
        # Stripe down, or e.g. a status Stripe added after this code.
        logger.warning("Re-reading lapsed subscription %s failed: %s", subscription_id, error)
