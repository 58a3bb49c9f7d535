"""What a user is entitled to. The access policy (`catalog.access`) asks only this module.

A user's tier is the highest of
- their unexpired `TierGrant`s (invites, staff), and
- the plans of their subscriptions Stripe reports active or trialing, or past due for less
  than `LMS_BILLING_GRACE_DAYS` (Stripe is still retrying the payment).

Staff and a course's instructors are let in by the access policy itself, whatever their tier.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import User
from billing.models import Subscription, TierGrant

# The answer is kept on the user object: a page asks once per course shown, and a request's
# `request.user` lives only as long as the request. `billing.services` drops it on a change.
_MEMO_ATTRIBUTE = "_billing_active_tier_rank"


def subscription_entitled_q(*, now: datetime) -> Q:
    """Subscriptions that open their plan's tier at `now`."""
    grace_start = now - timedelta(days=settings.LMS_BILLING_GRACE_DAYS)
    return Q(plan__isnull=False) & (
        Q(status__in=Subscription.ENTITLED_STATUSES)
        | Q(status=Subscription.Status.PAST_DUE, past_due_since__gt=grace_start)
    )


def subscription_grace_ends_at(*, subscription: Subscription) -> datetime | None:
    """When a past-due subscription stops opening its tier; None when it is not past due."""
    if subscription.status != Subscription.Status.PAST_DUE:
        return None
    since = subscription.past_due_since or timezone.now()
    return since + timedelta(days=settings.LMS_BILLING_GRACE_DAYS)


def subscription_gives_access(*, subscription: Subscription) -> bool:
    """`subscription_entitled_q` for a row in hand (no query): whether it opens its tier now."""
    if subscription.plan_id is None:
        return False
    if subscription.status in Subscription.ENTITLED_STATUSES:
        return True
    grace_ends_at = subscription_grace_ends_at(subscription=subscription)
    return grace_ends_at is not None and grace_ends_at > timezone.now()


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
    ranks = (
        User.objects.filter(pk=user.pk).values_list(Subquery(granted), Subquery(subscribed)).first()
    ) or (None, None)
    held = [rank for rank in ranks if rank is not None]
    rank = max(held) if held else None
    setattr(user, _MEMO_ATTRIBUTE, rank)
    return rank


def user_entitlements_forget(*, user: User) -> None:
    """Drop the remembered answer, so the next question reads the grants again."""
    user.__dict__.pop(_MEMO_ATTRIBUTE, None)
