"""Reading billing: the plans on sale and a user's subscription."""

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from billing.entitlements import subscription_entitled_q
from billing.models import Plan, Subscription


def plans_on_sale() -> QuerySet[Plan]:
    """The plans the pricing page and the API list, cheapest tier first."""
    return (
        Plan.objects.filter(is_active=True).select_related("tier").order_by("order", "tier__rank")
    )


def subscription_current(*, user: User, entitled_only: bool = False) -> Subscription | None:
    """The subscription that matters to the user now: the one giving access, else the latest
    that has not ended (None with `entitled_only`), else the latest of all."""
    if not user.is_authenticated:
        return None
    subscriptions = Subscription.objects.filter(user=user).select_related("plan__tier")
    entitled = (
        subscriptions.filter(subscription_entitled_q(now=timezone.now()))
        .order_by("-plan__tier__rank", "-created_at")
        .first()
    )
    if entitled is not None or entitled_only:
        return entitled
    ongoing = subscriptions.exclude(status__in=Subscription.FINAL_STATUSES).first()
    return ongoing or subscriptions.first()
