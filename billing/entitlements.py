"""What a user is entitled to. The access policy (`catalog.access`) asks only this module.

A user's tier comes from their unexpired `TierGrant`s (invites, staff); subscriptions join
them with the billing issue. Staff and a course's instructors are let in by the access policy
itself, whatever their tier.
"""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import User
from billing.models import TierGrant

# The answer is kept on the user object: a page asks once per course shown, and a request's
# `request.user` lives only as long as the request. `billing.services` drops it on a grant.
_MEMO_ATTRIBUTE = "_billing_active_tier_rank"


def user_active_tier_rank(*, user: User | AnonymousUser) -> int | None:
    """The rank of the highest tier the user holds now, or None when they hold none."""
    if not user.is_authenticated:
        return None
    try:
        return getattr(user, _MEMO_ATTRIBUTE)
    except AttributeError:
        pass
    now = timezone.now()
    rank = (
        TierGrant.objects.filter(user=user, starts_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .aggregate(rank=Max("tier__rank"))["rank"]
    )
    setattr(user, _MEMO_ATTRIBUTE, rank)
    return rank


def user_entitlements_forget(*, user: User) -> None:
    """Drop the remembered answer, so the next question reads the grants again."""
    user.__dict__.pop(_MEMO_ATTRIBUTE, None)
