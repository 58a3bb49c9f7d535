from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import Customer, Plan, Subscription, Tier


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tier {n}")
    slug = factory.Sequence(lambda n: f"tier-{n}")
    # Far above the ranks tests give by hand (Rookie 1, Advanced 2, ...), which would collide
    # with a sequence starting at 1 on the unique rank.
    rank = factory.Sequence(lambda n: n + 100)


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan on sale, monthly and yearly, with unique placeholder Stripe price ids."""

    class Meta:
        model = Plan
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Plan {n}")
    slug = factory.Sequence(lambda n: f"plan-{n}")
    tier = factory.SubFactory(TierFactory)
    features = "Every course of the tier\nDownloads"
    stripe_price_monthly = factory.LazyAttribute(lambda plan: f"price_{plan.slug}_monthly")
    stripe_price_yearly = factory.LazyAttribute(lambda plan: f"price_{plan.slug}_yearly")
    display_price_monthly = "$19"
    display_price_yearly = "$190"


class CustomerFactory(factory.django.DjangoModelFactory):
    """A user's Stripe customer row. Tests talking to the fake Stripe pass the `stripe_id`
    of a customer made there (`fake.customer_create(...)["id"]`)."""

    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    stripe_id = factory.Sequence(lambda n: f"cus_test{n:06d}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A stored subscription, active on a monthly plan, as `subscription_sync` would leave it."""

    class Meta:
        model = Subscription

    stripe_id = factory.Sequence(lambda n: f"sub_test{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    user = factory.SelfAttribute("customer.user")
    plan = factory.SubFactory(PlanFactory)
    stripe_price_id = factory.LazyAttribute(
        lambda sub: sub.plan.stripe_price_monthly if sub.plan else "price_unknown"
    )
    interval = Plan.Interval.MONTH
    status = Subscription.Status.ACTIVE
    current_period_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
