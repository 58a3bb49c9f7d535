"""Reading billing: the plans on sale and a user's subscription."""

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import User
from billing.entitlements import subscription_gives_access
from billing.models import Plan, Subscription, Tier


def plans_on_sale() -> QuerySet[Plan]:
    """The plans the pricing page and the API list, cheapest tier first."""
    return (
        Plan.objects.filter(is_active=True).select_related("tier").order_by("order", "tier__rank")
    )


def subscription_current(*, user: User) -> Subscription | None:
    """The subscription that matters to the user now, in one query: the one giving access
    (the highest tier), else the latest that has not ended, else the latest of all."""
    if not user.is_authenticated:
        return None
    subscriptions = list(Subscription.objects.filter(user=user).select_related("plan__tier"))
    entitled = [s for s in subscriptions if subscription_gives_access(subscription=s)]
    if entitled:
        return max(entitled, key=lambda s: (s.plan.tier.rank, s.created_at))
    ongoing = [s for s in subscriptions if s.status not in Subscription.FINAL_STATUSES]
    return (ongoing or subscriptions or [None])[0]


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


@dataclass(frozen=True)
class CoursesForPlans:
    """What the plans open: the published paid courses (as `paid_courses_by_rank`), and how
    many published courses every learner has without a plan (public and members ones)."""

    paid: list[dict]
    free_count: int


def courses_for_plans() -> CoursesForPlans:
    """The published courses, read once for the pricing page (one query).

    billing sits below catalog and does not import it: the course model is reached through
    the reverse relation `Tier.courses`, as `paid_courses_by_rank` does, and only the fields
    it names are read.
    """
    course_model = Tier._meta.get_field("courses").related_model
    rows = (
        course_model.objects.filter(status="published")
        .order_by("-published_at", "title")
        .values_list("visibility", "required_tier__rank", "title", "slug")
    )
    paid, free_count = [], 0
    for visibility, rank, title, slug in rows:
        if visibility == "paid" and rank is not None:
            paid.append({"rank": rank, "title": title, "slug": slug})
        elif visibility != "paid":
            free_count += 1
    return CoursesForPlans(paid=paid, free_count=free_count)


def plan_opening_tier(*, tier: Tier) -> Plan | None:
    """The plan to offer for something that needs `tier`: of the plans on sale whose tier is
    at least as high (a higher tier opens everything below it), the one of the lowest tier,
    first in the pricing page's order among equals. One query; None when none is on sale."""
    return (
        Plan.objects.filter(is_active=True, tier__rank__gte=tier.rank)
        .select_related("tier")
        .order_by("tier__rank", "order", "pk")
        .first()
    )
