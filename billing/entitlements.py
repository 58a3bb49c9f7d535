"""What a user is entitled to. The access policy (`catalog.access`) asks only this module.

A user's tier is the highest of
- their unexpired `TierGrant`s (invites, staff), and
- the plans of their subscriptions Stripe reports active or trialing, or past due for less
  than `LMS_BILLING_GRACE_DAYS` (Stripe is still retrying the payment).

An active or trialing subscription counts only until `LMS_BILLING_GRACE_DAYS` after its
`current_period_end`: Stripe moves the period on at each renewal, so a copy whose period ended
longer ago missed what happened (lost webhooks, beat or Stripe down). It is *lapsed*: it opens
nothing, and asking about it queues a re-read from Stripe (at most one per subscription every
`RESYNC_INTERVAL_SECONDS`), which gives the access back if Stripe says it was renewed.

Staff and a course's instructors are let in by the access policy itself, whatever their tier.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import User
from billing.gateway import billing_enabled
from billing.models import Subscription, TierGrant
from lms.cache import outage_log

logger = logging.getLogger(__name__)

# However busy the pages of a learner with a lapsed subscription, Stripe is asked about it at
# most once per this many seconds (a cache marker per subscription).
RESYNC_INTERVAL_SECONDS = 300
_RESYNC_MARKER = "billing:subscription-resync:{}"

# The answer is kept on the user object: a page asks once per course shown, and a request's
# `request.user` lives only as long as the request. `billing.services` drops it on a change.
_MEMO_ATTRIBUTE = "_billing_active_tier_rank"


def _grace(*, now: datetime) -> datetime:
    return now - timedelta(days=settings.LMS_BILLING_GRACE_DAYS)


def subscription_entitled_q(*, now: datetime) -> Q:
    """Subscriptions that open their plan's tier at `now`."""
    grace_start = _grace(now=now)
    return Q(plan__isnull=False) & (
        (
            Q(status__in=Subscription.ENTITLED_STATUSES)
            & (Q(current_period_end__isnull=True) | Q(current_period_end__gt=grace_start))
        )
        | Q(status=Subscription.Status.PAST_DUE, past_due_since__gt=grace_start)
    )


def subscription_lapsed_q(*, now: datetime) -> Q:
    """Subscriptions our copy calls active or trialing although their period ended more than
    the grace period ago: no renewal reached us, so they open nothing until re-read."""
    return Q(
        plan__isnull=False,
        status__in=Subscription.ENTITLED_STATUSES,
        current_period_end__lte=_grace(now=now),
    )


def subscription_grace_ends_at(*, subscription: Subscription) -> datetime | None:
    """When a past-due subscription stops opening its tier; None when it is not past due."""
    if subscription.status != Subscription.Status.PAST_DUE:
        return None
    since = subscription.past_due_since or timezone.now()
    return since + timedelta(days=settings.LMS_BILLING_GRACE_DAYS)


def subscription_is_lapsed(*, subscription: Subscription, now: datetime | None = None) -> bool:
    """`subscription_lapsed_q` for a row in hand (no query)."""
    return (
        subscription.plan_id is not None
        and subscription.status in Subscription.ENTITLED_STATUSES
        and subscription.current_period_end is not None
        and subscription.current_period_end <= _grace(now=now or timezone.now())
    )


def subscription_gives_access(*, subscription: Subscription) -> bool:
    """`subscription_entitled_q` for a row in hand (no query): whether it opens its tier now."""
    if subscription.plan_id is None:
        return False
    if subscription.status in Subscription.ENTITLED_STATUSES:
        return not subscription_is_lapsed(subscription=subscription)
    grace_ends_at = subscription_grace_ends_at(subscription=subscription)
    return grace_ends_at is not None and grace_ends_at > timezone.now()


def subscription_resync_request(*, subscription_id: str) -> bool:
    """Queue a re-read of subscription `subscription_id` (Stripe's id) from Stripe after the
    current transaction commits, unless one was queued less than `RESYNC_INTERVAL_SECONDS`
    ago. Returns whether this call queued it. Never raises: the access decision stands
    without it, and the hourly reconciliation reads every open subscription anyway."""
    if not billing_enabled():
        return False
    try:
        # `add` is atomic: of many requests at once, one sets the marker and queues.
        first = cache.add(_RESYNC_MARKER.format(subscription_id), 1, RESYNC_INTERVAL_SECONDS)
    except Exception:
        logger.warning("Cache unavailable: no re-read of lapsed subscription %s", subscription_id)
        return False
    if first:
        transaction.on_commit(lambda: _resync_queue(subscription_id))
    return bool(first)


def _resync_queue(subscription_id: str) -> None:
    from billing.tasks import subscription_resync  # tasks import services, which import us

    try:
        subscription_resync.delay(subscription_id=subscription_id)
    except Exception as exc:
        # The broker is down (or, running eagerly, the task failed): the page still answers,
        # and a busy outage is reported once per interval, not once per request.
        outage_log("Task broker").failed(
            exc, consequence=f"lapsed subscriptions ({subscription_id}) are re-read hourly"
        )


def user_active_tier_rank(*, user: User | AnonymousUser) -> int | None:
    """The rank of the highest tier the user holds now, or None when they hold none."""
    if not user.is_authenticated:
        return None
    try:
        return getattr(user, _MEMO_ATTRIBUTE)
    except AttributeError:
        pass
    now = timezone.now()
    granted = (
        TierGrant.objects.filter(user=OuterRef("pk"), starts_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("user")
        .annotate(rank=Max("tier__rank"))
        .values("rank")
    )
    subscribed = (
        Subscription.objects.filter(subscription_entitled_q(now=now), user=OuterRef("pk"))
        .values("user")
        .annotate(rank=Max("plan__tier__rank"))
        .values("rank")
    )
    # Asked in the same query: a subscription that lapsed, to be re-read from Stripe.
    lapsed = Subscription.objects.filter(
        subscription_lapsed_q(now=now), user=OuterRef("pk")
    ).values("stripe_id")[:1]
    granted_rank, subscribed_rank, lapsed_id = (
        User.objects.filter(pk=user.pk)
        .values_list(Subquery(granted), Subquery(subscribed), Subquery(lapsed))
        .first()
    ) or (None, None, None)
    held = [rank for rank in (granted_rank, subscribed_rank) if rank is not None]
    rank = max(held) if held else None
    setattr(user, _MEMO_ATTRIBUTE, rank)
    if lapsed_id:
        subscription_resync_request(subscription_id=lapsed_id)
    return rank


def user_entitlements_forget(*, user: User) -> None:
    """Drop the remembered answer, so the next question reads the grants again."""
    user.__dict__.pop(_MEMO_ATTRIBUTE, None)
