"""Reading billing: the plans on sale and a user's subscription."""

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from billing.entitlements import subscription_entitled_q
from billing.models import Plan, Subscription, Tier


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


def subscription_blocks_checkout(*, user: User) -> bool:
    """Whether the user has a subscription Stripe still bills (or may: past due, unpaid,
    paused), so a new checkout would charge them twice."""
    open_statuses = [
        status
        for status in Subscription.Status.values
        if status not in (*Subscription.FINAL_STATUSES, Subscription.Status.INCOMPLETE)
    ]
    return Subscription.objects.filter(user=user, status__in=open_statuses).exists()


def paid_courses_by_rank() -> list[dict]:
    """Published paid courses as {rank, title, slug}, newest first, in one query.

    Read through `Tier.courses` (the reverse of `Course.required_tier`): billing sits below
    catalog and does not import it. Paid courses are few enough to list whole; the pages then
    pick per plan without a query per plan or per course.
    """
    rows = (
        Tier.objects.filter(courses__status="published", courses__visibility="paid")
        .order_by("-courses__published_at", "courses__title")
        .values_list("rank", "courses__title", "courses__slug")
    )
    return [{"rank": rank, "title": title, "slug": slug} for rank, title, slug in rows]
